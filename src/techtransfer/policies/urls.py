from django.urls import path

from . import views

app_name = "policies"

urlpatterns = [
    path("", views.policy_list, name="list"),
    path("new/", views.policy_edit, name="new"),
    path("<int:pk>/", views.policy_detail, name="detail"),
    path("<int:pk>/edit/", views.policy_edit, name="edit"),
    path("<int:pk>/text/import/", views.policy_text_import, name="text_import"),
    path("<int:policy_pk>/clauses/new/", views.clause_edit, name="clause_new"),
    path("<int:policy_pk>/clauses/<int:pk>/edit/", views.clause_edit, name="clause_edit"),
    path("<int:policy_pk>/notices/new/", views.notice_create, name="notice_new"),
    path("mine/", views.my_policies, name="mine"),
    path("staff/", views.staff_overview, name="staff"),
    path("staff/run/", views.staff_run, name="run"),
    path("entitlements/<int:pk>/<str:action>/", views.entitlement_action, name="entitlement_action"),
    path("notices/<int:notice_pk>/apply/", views.apply, name="apply"),
    path("applications/", views.application_list, name="applications"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/<str:action>/", views.application_action, name="application_action"),
]
