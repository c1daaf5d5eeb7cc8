import pytest

from techtransfer.core.registry import KINDS
from techtransfer.core.search import bigrams
from techtransfer.core.selectors import record_list
from techtransfer.core.tests.factories import AchievementFactory, InstrumentFactory


def test_bigrams_of_mixed_text():
    assert bigrams("复合材料 SU8010") == "复合 合材 材料 su u8 80 01 10"
    assert bigrams("锂、电") == "锂 电"
    assert bigrams(None) == ""


def titles(kind, q):
    return sorted(
        r.title if hasattr(r, "title") and kind == "achievements" else r.name
        for r in record_list(kind=KINDS[kind], user=None, q=q)
    )


@pytest.mark.django_db
def test_search_finds_substrings_like_like_does(people):
    AchievementFactory(
        organization=people.acme, status="published", title="陶铝复合材料", abstract="原位反应", keywords=["陶铝"]
    )
    AchievementFactory(
        organization=people.acme, status="published", title="锂电池隔膜", abstract="湿法工艺", keywords=["隔膜"]
    )
    AchievementFactory(organization=people.acme, status="draft", title="未发布的复合材料", abstract="草稿", keywords=[])
    assert titles("achievements", "复合材料") == ["陶铝复合材料"]
    assert titles("achievements", "合材") == ["陶铝复合材料"]
    assert titles("achievements", "湿法 隔膜") == ["锂电池隔膜"]
    assert titles("achievements", "复合 湿法") == []
    # One-character terms take the LIKE path and still agree.
    assert titles("achievements", "锂") == ["锂电池隔膜"]


@pytest.mark.django_db
def test_index_follows_edits_and_deletes(people):
    instrument = InstrumentFactory(
        organization=people.acme, status="published", name="激光粒度仪", model_number="LS13320"
    )
    assert titles("instruments", "ls133") == ["激光粒度仪"]
    instrument.name = "X射线衍射仪"
    instrument.save(update_fields=["name"])
    assert titles("instruments", "粒度") == []
    assert titles("instruments", "衍射") == ["X射线衍射仪"]
    instrument.delete()
    assert titles("instruments", "衍射") == []
