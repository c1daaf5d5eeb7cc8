import pytest

from techtransfer.core.registry import KINDS
from techtransfer.core.selectors import record_list
from techtransfer.core.tests.factories import AchievementFactory, DemandFactory, region


@pytest.mark.django_db
def test_achievement_filters_combine(people):
    hit = AchievementFactory(
        organization=people.acme,
        status="published",
        readiness_level=7,
        industry_id="3841",
        title="锂离子电池隔膜",
    )
    AchievementFactory(organization=people.acme, status="published", readiness_level=3, industry_id="3841")
    AchievementFactory(organization=people.rival, status="published", readiness_level=8, industry_id="2614")
    AchievementFactory(organization=people.acme, status="draft", readiness_level=9, industry_id="3841")
    found = record_list(
        kind=KINDS["achievements"],
        user=None,
        filters={"industry": "C", "readiness_min": "6", "region": "340603", "transfer_mode": "license"},
        q="电池 隔膜",
    )
    assert list(found) == [hit]


@pytest.mark.django_db
def test_region_filter_covers_subtree(people):
    city = region("340600")
    in_park = DemandFactory(organization=people.acme, region=region("340600-P01"), status="published")
    assert city.path in in_park.region.path
    found = record_list(kind=KINDS["demands"], user=None, filters={"region": "340600"})
    assert list(found) == [in_park]
    assert list(record_list(kind=KINDS["demands"], user=None, filters={"region": "340621"})) == []


@pytest.mark.django_db
def test_optimize_lets_signed_in_lists_walk_the_publication_index(people):
    from django.db import connection

    from techtransfer.core.dbmaintenance import database_optimize

    for _ in range(30):
        AchievementFactory(organization=people.rival, status="published")
    AchievementFactory(organization=people.acme, status="draft")
    database_optimize()
    queryset = record_list(kind=KINDS["achievements"], user=people.acme_member)[:20]
    if connection.vendor == "sqlite":
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "achievement_published_order" in plan
    assert len(list(queryset)) == 20


@pytest.mark.django_db
def test_id_first_pages_match_plain_slicing(people):
    from techtransfer.core.pagination import IdFirstPaginator, page_rows

    for n in range(7):
        AchievementFactory(organization=people.acme, status="published", title=f"成果{n}", readiness_level=n + 1)
    records = record_list(kind=KINDS["achievements"], user=None, ordering="-readiness_level")
    assert page_rows(records, 2, 5) == list(records[2:5])
    assert [r.readiness_level for r in page_rows(records, 2, 5)] == [5, 4, 3]
    page = IdFirstPaginator(records, 3).page(3)
    assert [r.title for r in page.object_list] == ["成果0"]
    assert page_rows(records, 10, 13) == []
