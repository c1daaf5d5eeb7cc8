from django.urls import path, register_converter

from . import views
from .converters import KindConverter

register_converter(KindConverter, "kind")

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("workspace/", views.workspace, name="workspace"),
    path("audit/", views.audit_log, name="audit_log"),
    path("organizations/", views.organization_list, name="organization_list"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization_detail"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("<kind:kind>/", views.record_list, name="list"),
    path("<kind:kind>/new/", views.record_create, name="create"),
    path("<kind:kind>/suggest/", views.suggest_fields, name="suggest_fields"),
    path("<kind:kind>/suggest/apply/", views.apply_suggestion, name="apply_suggestion"),
    path("<kind:kind>/<int:pk>/", views.record_detail, name="detail"),
    path("<kind:kind>/<int:pk>/edit/", views.record_edit, name="edit"),
    path("<kind:kind>/<int:pk>/suggest/", views.suggest_fields, name="suggest_fields_for"),
    path("<kind:kind>/<int:pk>/suggest/apply/", views.apply_suggestion, name="apply_suggestion_for"),
    path("<kind:kind>/<int:pk>/actions/<slug:action>/", views.record_action, name="action"),
]
