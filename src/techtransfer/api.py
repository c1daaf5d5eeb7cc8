"""The REST API root: ``/api/v1/``. Each app contributes a router from its ``api.py``."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="科技成果转移转化平台 API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
