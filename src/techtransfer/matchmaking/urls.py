from django.urls import path

from . import views

app_name = "matchmaking"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/refine/", views.search_refine, name="search_refine"),
    path("recommend/<slug:kind>/<int:pk>/", views.recommend, name="recommend"),
    path("funnel/", views.funnel, name="funnel"),
    path("matches/new/", views.match_create, name="match_create"),
    path("matches/<int:pk>/", views.match_detail, name="match"),
    path("matches/<int:pk>/<slug:stage>/", views.match_advance, name="match_advance"),
]
