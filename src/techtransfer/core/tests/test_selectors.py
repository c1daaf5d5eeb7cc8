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
