import os

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from .api import api

admin.site.site_header = "科技成果转移转化平台 · 后台管理"
admin.site.site_title = "平台后台"
admin.site.index_title = "后台管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("techtransfer.accounts.urls")),
    path("exchange/", include("techtransfer.exchange.urls")),
    path("policies/", include("techtransfer.policies.urls")),
    path("matching/", include("techtransfer.matchmaking.urls")),
    path("", include("techtransfer.portal.urls")),
]

if os.environ.get("TECHTRANSFER_BENCH_BARE") == "1":
    # The benchmark's yardstick: the cheapest page this server can serve, through every middleware.
    def bare_page(request):
        return HttpResponse("ok", content_type="text/plain")

    urlpatterns.insert(0, path("bench/bare/", bare_page))
