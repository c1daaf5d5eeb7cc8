from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("templates/<slug:kind>.xlsx", views.template_download, name="template"),
    path("export/<slug:kind>/", views.export_download, name="export"),
]
