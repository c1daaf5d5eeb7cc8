import pytest

from techtransfer.core.tests.factories import AchievementFactory, DemandFactory, ExpertFactory, InstrumentFactory
from techtransfer.matchmaking import indexing, queryvectors


@pytest.fixture(autouse=True)
def index_location(settings, tmp_path):
    """Every test gets its own tiny index directory and embedding cache (no e5 in tests: vectors come from
    ``HashEmbedder`` where a test asks for them), and refreshes after commit run in the committing thread."""
    settings.MATCHING_INDEX_DIR = tmp_path / "index"
    settings.MATCHING_EMBEDDING_CACHE_DIR = tmp_path / "embeddings"
    settings.MATCHING_AUTO_UPDATE = "sync"
    indexing.forget_loaded()
    queryvectors.forget_query_embedders()
    yield settings.MATCHING_INDEX_DIR
    indexing.wait_for_refresh()
    indexing.forget_loaded()
    queryvectors.forget_query_embedders()


@pytest.fixture
def corpus(people):
    """A published demand of acme (相山区) and what could solve it, plus noise and one draft."""
    c = type("Corpus", (), {})()
    c.demand = DemandFactory(
        organization=people.acme,
        status="published",
        title="锂电池隔膜涂覆工艺改进",
        description="我公司生产锂电池隔膜，需要提高陶瓷涂覆隔膜的耐热性和一致性。",
        fields=",new_energy,",
    )
    c.membrane = AchievementFactory(
        organization=people.acme,
        status="published",
        title="陶瓷涂覆锂电池隔膜制备技术",
        abstract="一种耐热陶瓷涂覆隔膜的连续涂覆工艺，提高锂电池安全性。",
        keywords=["锂电池", "隔膜", "陶瓷涂覆"],
        high_tech_field="new_energy",
    )
    c.far_membrane = AchievementFactory(
        organization=people.rival,
        status="published",
        title="锂电池隔膜回收方法",
        abstract="废旧锂电池隔膜的回收利用。",
        keywords=["锂电池", "回收"],
        high_tech_field="resources_environment",
    )
    c.noise = AchievementFactory(
        organization=people.rival,
        status="published",
        title="小麦抗旱育种方法",
        abstract="一种抗旱小麦品种的选育方法。",
        keywords=["小麦", "育种"],
        high_tech_field="bio_medicine",
    )
    c.draft = AchievementFactory(
        organization=people.rival,
        status="draft",
        title="锂电池隔膜陶瓷涂覆浆料",
        abstract="陶瓷涂覆隔膜用浆料配方。",
        keywords=["锂电池", "隔膜"],
    )
    c.expert = ExpertFactory(
        organization=people.rival,
        status="published",
        name="王隔膜",
        expertise="锂电池隔膜与陶瓷涂覆材料研究",
        fields=",new_energy,",
    )
    c.instrument = InstrumentFactory(
        organization=people.rival, status="published", name="隔膜热收缩测试仪", capabilities="锂电池隔膜耐热性测试"
    )
    return c
