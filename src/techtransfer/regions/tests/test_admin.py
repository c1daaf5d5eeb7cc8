"""The region admin: a renamed region shows at once on cached public pages."""

from techtransfer.core.pagecache import content_version
from techtransfer.core.tests.factories import region


def test_renaming_a_region_refreshes_cached_pages(people, client):
    xiangshan = region("340603")
    before = content_version()
    cached = client.get("/api/v1/regions")
    assert cached["X-Page-Cache"] == "miss"
    client.force_login(people.platform_admin)
    people.platform_admin.is_staff = True
    people.platform_admin.is_superuser = True
    people.platform_admin.save(update_fields=["is_staff", "is_superuser"])

    response = client.post(
        f"/admin/regions/region/{xiangshan.pk}/change/",
        {"name": "相山区（新名）", "sort_order": xiangshan.sort_order},
    )

    assert response.status_code == 302
    xiangshan.refresh_from_db()
    assert xiangshan.name == "相山区（新名）"
    assert content_version() == before + 1
    client.logout()
    fresh = client.get("/api/v1/regions")
    assert fresh["X-Page-Cache"] == "miss"
    assert "相山区（新名）" in [c["name"] for c in fresh.json()[0]["children"]]
