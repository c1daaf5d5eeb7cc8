"""Free-text search: filters (region, field, minimum TRL, transfer mode), hybrid or lexical, the fallback when the
model fails, and the search page's htmx refine request. Vectors come from ``HashEmbedder`` (never e5 in tests)."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from techtransfer.core.tests.factories import AchievementFactory
from techtransfer.matching import Document, normalize, semantic
from techtransfer.matchmaking import indexing, queryvectors, selectors
from techtransfer.matchmaking.selectors import SearchFilters

QUERY = "锂电池隔膜"


def found(results):
    return {(r.kind, r.obj.pk) for r in results}


@pytest.fixture
def built(corpus):
    indexing.index_rebuild()
    return corpus


@pytest.fixture
def hybrid(settings, corpus):
    """The corpus indexed with (hash) vectors, and the same embedder configured for queries."""
    settings.MATCHING_EMBEDDER = "hash"
    indexing.index_rebuild(with_vectors=True)
    return corpus


@pytest.fixture
def embed_calls(monkeypatch):
    """Count the texts the query embedder is asked to embed."""
    calls = []
    original = semantic.HashEmbedder.embed

    def counting(self, texts, kind):
        calls.append(list(texts))
        return original(self, texts, kind)

    monkeypatch.setattr(semantic.HashEmbedder, "embed", counting)
    return calls


# ------------------------------------------------------------------------------------------------- filters


def test_filters_narrow_the_search(people, built):
    c = built
    ready = AchievementFactory(
        organization=people.rival, status="published", title="锂电池隔膜在线检测", readiness_level=8
    )
    indexing.index_rebuild()

    def search(**filters):
        return found(selectors.search(q=QUERY, user=None, filters=SearchFilters(**filters)))

    demand, membrane = ("demands", c.demand.pk), ("achievements", c.membrane.pk)
    far = ("achievements", c.far_membrane.pk)
    expert, instrument = ("experts", c.expert.pk), ("instruments", c.instrument.pk)
    ready = ("achievements", ready.pk)
    assert search() == {demand, membrane, far, expert, instrument, ready}
    assert search(region="340603") == {demand, membrane}  # 相山区
    assert search(region="340621") == {far, expert, instrument, ready}  # 濉溪县
    assert search(region="340600") == {demand, membrane, far, expert, instrument, ready}  # 淮北市: both inside
    assert search(region="999999") == set()
    assert search(field="new_energy") == {demand, membrane, expert}
    assert search(readiness_min=6) == {membrane, far, ready}  # achievements only
    assert search(readiness_min=7) == {ready}
    assert search(transfer_mode="license") == {membrane, far, ready}  # the achievements' factory modes
    assert search(transfer_mode="co_development") == {demand}  # the demand's 合作方式
    assert search(field="new_energy", region="340603", transfer_mode="co_development") == {demand}


def test_an_index_built_before_the_filter_columns_is_filtered_on_the_records(people, corpus, monkeypatch):
    """An index from before ``mode``/``trl`` were indexed: the filter runs on the records, fetching more hits."""
    original = indexing.document_for

    def old_document(slug, obj):
        doc = original(slug, obj)
        fields = {k: v for k, v in doc.fields.items() if k not in ("mode", "trl")}
        return Document(doc.doc_id, doc.text, title=doc.title, fields=fields)

    # six strong matches of TRL 3 and one weak match of TRL 9, ranked below them
    for n in range(6):
        AchievementFactory(
            organization=people.rival,
            status="published",
            title=f"锂电池隔膜涂覆{n}",
            abstract="锂电池隔膜陶瓷涂覆。",
            keywords=["锂电池", "隔膜"],
            readiness_level=3,
        )
    weak = AchievementFactory(
        organization=people.rival,
        status="published",
        title="电池检测方法",
        abstract="适用于隔膜。",
        keywords=[],
        readiness_level=9,
        transfer_modes=",equity,",
    )
    monkeypatch.setattr(indexing, "document_for", old_document)
    indexing.index_rebuild()
    assert "trl" not in indexing.current_index().fields
    unfiltered = selectors.search(q=QUERY, user=None, k=20)
    assert [r.obj for r in unfiltered].index(weak) >= 4  # beyond the 4 hits fetched for k=1 without a filter
    results = selectors.search(q=QUERY, user=None, k=1, filters=SearchFilters(readiness_min=9))
    assert [r.obj for r in results] == [weak]
    results = selectors.search(q=QUERY, user=None, k=1, filters=SearchFilters(transfer_mode="equity"))
    assert [r.obj for r in results] == [weak]


def test_search_page_filters_and_refuses_bad_ones_in_chinese(client, built):
    url = reverse("matchmaking:search")
    html = client.get(url, {"q": QUERY, "region": "340603"}).content.decode()
    assert "找到 2 条相关信息" in html
    assert built.membrane.title in html and built.far_membrane.title not in html
    html = client.get(url, {"q": QUERY, "readiness_min": "6", "transfer_mode": "license"}).content.decode()
    assert "找到 2 条相关信息" in html and built.expert.name not in html
    bad = client.get(url, {"q": QUERY, "region": "999999"}).content.decode()
    assert "选择一个有效的选项" in bad and "请修改标红的筛选条件后再查找。" in bad
    assert "找到" not in bad


def test_api_filters(client, built):
    def ids(**params):
        response = client.get("/api/v1/matching/search", {"q": QUERY, **params})
        assert response.status_code == 200, response.content
        return {(r["kind"], r["id"]) for r in response.json()["results"]}

    assert ids(region="340603") == {("demands", built.demand.pk), ("achievements", built.membrane.pk)}
    assert ids(field="new_energy", kind="experts") == {("experts", built.expert.pk)}
    assert ids(readiness_min=6, region="340621") == {("achievements", built.far_membrane.pk)}
    assert ids(transfer_mode="co_development") == {("demands", built.demand.pk)}
    assert ids(region="999999") == set()
    assert ids(region="", field="") == ids()  # an empty form field is no filter
    for bad in ({"readiness_min": 10}, {"transfer_mode": "gift"}, {"field": "astrology"}):
        assert client.get("/api/v1/matching/search", {"q": QUERY, **bad}).status_code == 400, bad


# ------------------------------------------------------------------------------------------ hybrid / lexical


def test_a_lexical_index_searches_lexically(client, built, embed_calls):
    outcome = selectors.search_outcome(q=QUERY, user=None)
    assert (outcome.mode, outcome.pending) == ("lexical", False)
    assert client.get("/api/v1/matching/search", {"q": QUERY}).json()["mode"] == "lexical"
    assert embed_calls == []


def test_search_is_hybrid_with_the_embedded_query_and_a_repeat_costs_nothing(client, hybrid, embed_calls):
    response = client.get("/api/v1/matching/search", {"q": QUERY})
    assert response.json()["mode"] == "hybrid"
    assert embed_calls == [[normalize(QUERY)]]
    # the scores are the index's fused scores with exactly that query vector
    vector = semantic.embed_queries(semantic.HashEmbedder(), [normalize(QUERY)])[0]
    del embed_calls[1:]  # (this test's own call)
    index = indexing.current_index()
    every_kind = {"kind": list(indexing.INDEXED_KINDS)}
    hits = {d: s for d, s, _ in index.search(QUERY, 80, filters=every_kind, query_vector=vector)}
    results = response.json()["results"]
    assert results and all(r["text_score"] == round(hits[f"{r['kind']}:{r['id']}"], 4) for r in results)
    lexical = {d: s for d, s, _ in index.search(QUERY, 80, filters=every_kind)}
    assert any(round(lexical[f"{r['kind']}:{r['id']}"], 4) != r["text_score"] for r in results)
    # the same query again: no model call; semantic=false: lexical
    client.get("/api/v1/matching/search", {"q": QUERY})
    client.get("/api/v1/matching/search", {"q": f"  {QUERY} "})  # the same text once normalised and stripped
    assert len(embed_calls) == 1
    off = client.get("/api/v1/matching/search", {"q": QUERY, "semantic": "false"}).json()
    assert off["mode"] == "lexical"
    assert [r["text_score"] for r in off["results"]] == sorted(
        (round(lexical[f"{r['kind']}:{r['id']}"], 4) for r in off["results"]), reverse=True
    )


def test_query_embedding_off_is_lexical(client, settings, hybrid, embed_calls):
    settings.MATCHING_QUERY_EMBEDDING = "off"
    assert client.get("/api/v1/matching/search", {"q": QUERY}).json()["mode"] == "lexical"
    html = client.get(reverse("matchmaking:search"), {"q": QUERY}).content.decode()
    assert "hx-trigger" not in html and "找到 5 条相关信息" in html
    assert embed_calls == []


def test_a_model_that_fails_falls_back_to_lexical_and_is_logged_once(client, hybrid, monkeypatch, caplog):
    calls = []

    def broken(self, texts, kind):
        calls.append(texts)
        raise RuntimeError("weights missing")

    monkeypatch.setattr(semantic.HashEmbedder, "embed", broken)
    with caplog.at_level(logging.WARNING, logger="techtransfer.matchmaking.queryvectors"):
        first = client.get("/api/v1/matching/search", {"q": QUERY}).json()
        second = client.get("/api/v1/matching/search", {"q": "陶瓷涂覆"}).json()
    assert (first["mode"], second["mode"]) == ("lexical", "lexical")
    assert {r["id"] for r in first["results"] if r["kind"] == "achievements"} == {
        hybrid.membrane.pk,
        hybrid.far_membrane.pk,
    }
    assert len(calls) == 1  # not tried again in this process
    warnings = [r for r in caplog.records if r.name == "techtransfer.matchmaking.queryvectors"]
    assert [r.getMessage() for r in warnings] == ["无法加载语义模型 hash-bigram-256，查找改为仅关键词匹配"]
    # the page does not offer a refine request that would only fail again
    assert "hx-trigger" not in client.get(reverse("matchmaking:search"), {"q": "隔膜"}).content.decode()


def test_an_index_of_another_models_vectors_is_searched_lexically(client, settings, hybrid, monkeypatch):
    settings.MATCHING_EMBEDDER = "e5"

    def no_model(self):
        raise AssertionError("the e5 model must not load in tests")

    monkeypatch.setattr(semantic.E5Embedder, "_load", no_model)
    assert client.get("/api/v1/matching/search", {"q": QUERY}).json()["mode"] == "lexical"
    assert selectors.search_outcome(q=QUERY, user=None, semantic="cached").pending is False


def test_query_vector_cache_is_bounded():
    cache = queryvectors.QueryVectorCache("m", size=2)
    vectors = semantic.HashEmbedder(dim=4).embed(["甲乙", "丙丁", "戊己"], semantic.QUERY)
    cache.put([b"a", b"b"], vectors[:2])
    assert cache.get(b"a") is not None  # a is now the most recent
    cache.put([b"c"], vectors[2:])
    assert (cache.get(b"b"), len(cache)) == (None, 2)
    assert list(cache.get(b"c")) == list(vectors[2])


# ---------------------------------------------------------------------------------------- the page (htmx)


def test_the_page_answers_lexically_at_once_and_refines_by_htmx(client, hybrid, embed_calls):
    url = reverse("matchmaking:search")
    response = client.get(url, {"q": "陶瓷涂覆隔膜", "kind": ""})
    html = response.content.decode()
    refine = reverse("matchmaking:search_refine")
    assert f'hx-get="{refine}?q=%E9%99%B6%E7%93%B7%E6%B6%82%E8%A6%86%E9%9A%94%E8%86%9C&amp;kind=" ' in html
    assert 'hx-trigger="load" hx-swap="outerHTML"' in html
    assert "正在语义匹配…" in html and "找到 5 条相关信息" in html  # the lexical results meanwhile
    assert embed_calls == []  # the first response never waits for the model
    assert "X-Page-Cache" not in response  # the next visitor gets the hybrid page
    fragment = client.get(refine, {"q": "陶瓷涂覆隔膜", "kind": ""}).content.decode()
    assert fragment.startswith('<section id="search-results"')
    assert "已结合语义匹配" in fragment and "hx-trigger" not in fragment and "正在语义匹配" not in fragment
    assert "找到 5 条相关信息" in fragment and hybrid.membrane.title in fragment
    assert len(embed_calls) == 1
    # now the query's vector is cached: the page is hybrid at once
    again = client.get(url, {"q": "陶瓷涂覆隔膜", "kind": ""}).content.decode()
    assert "已结合语义匹配" in again and "hx-trigger" not in again
    assert len(embed_calls) == 1


def test_the_refine_request_is_access_checked_like_the_page(client, people, hybrid):
    # a demand published and indexed, then returned to draft: gone from the page and the refine request alike
    type(hybrid.demand).objects.filter(pk=hybrid.demand.pk).update(status="draft")
    refine = reverse("matchmaking:search_refine")
    for who in (None, people.rival_member, people.acme_member):
        if who is None:
            client.logout()
        else:
            client.force_login(who)
        fragment = client.get(refine, {"q": "陶瓷涂覆隔膜"}).content.decode()
        assert hybrid.demand.title not in fragment and hybrid.draft.title not in fragment, who
        assert "找到 4 条相关信息" in fragment, who
    # filters apply; a bad one finds nothing
    assert "找到 1 条相关信息" in client.get(refine, {"q": "陶瓷涂覆隔膜", "kind": "experts"}).content.decode()
    assert "没有找到" in client.get(refine, {"q": "陶瓷涂覆隔膜", "readiness_min": "12"}).content.decode()
    assert "没有找到" in client.get(refine).content.decode()


def test_search_page_query_count_does_not_grow_with_results(people, client, built):
    url = reverse("matchmaking:search")
    client.get(url, {"q": QUERY})  # warm: the index is loaded, sessions and the like settled

    def count(results: int):
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(url, {"q": QUERY, "region": "340600"}).content.decode()
        assert f"找到 {results} 条相关信息" in html  # more results, so a per-result query would show
        return len(ctx)

    before = count(5)
    for n in range(6):
        AchievementFactory(organization=people.rival, status="published", title=f"锂电池隔膜改性{n}")
    indexing.index_rebuild()
    assert count(11) == before
