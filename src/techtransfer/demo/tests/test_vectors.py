"""The shipped e5 vectors of the demo texts: complete for the demo data, and enough to build its index."""

import numpy as np
import pytest
from django.core.management import call_command
from django.db import transaction

from techtransfer.demands.models import Demand
from techtransfer.demo import vectors
from techtransfer.matching import semantic
from techtransfer.matchmaking import indexing, selectors


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, loaded once for this module and rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def scratch_index(settings, tmp_path):
    settings.MATCHING_INDEX_DIR = tmp_path / "index"
    settings.MATCHING_EMBEDDING_CACHE_DIR = tmp_path / "embeddings"
    indexing.forget_loaded()
    yield
    indexing.forget_loaded()


def test_every_demo_record_has_a_shipped_vector(demo, db):
    # The keys need no model: text_key(model id, "passage", semantic_text(the indexed text)).
    model_id, keys, vecs = vectors.read_shipped()
    assert model_id == semantic.E5Embedder.model_id
    assert vecs.dtype == np.float16 and vecs.shape == (len(keys), semantic.E5Embedder.dim)
    shipped = vectors.shipped_keys()
    published = list(indexing.published_documents())
    assert len(published) >= 300  # the demo loaded (the check below must not pass on an empty list)
    missing = [d.doc_id for d in published if indexing.passage_key(model_id, d) not in shipped]
    assert missing == [], "演示数据或索引文本已改动：请运行 python -m techtransfer.demo.vectors 重新生成向量"
    # drafts and other example records are covered too, so publishing one in the demo needs no model
    every = {indexing.passage_key(model_id, d) for d in vectors.example_documents()}
    assert every <= shipped
    # and every demand's text read as a query (the vector its 为您推荐 searches with)
    views = semantic.query_views(indexing.query_texts(list(vectors.example_documents()))[1])[0]
    assert len(views) >= 30
    assert {semantic.text_key(model_id, semantic.QUERY, v) for v in views} <= shipped


def test_the_seeded_cache_builds_the_demo_index_with_vectors_and_no_model(demo, db, scratch_index, monkeypatch):
    # given the shipped vectors copied into an empty cache (once: a second seeding adds nothing)
    added = vectors.seed_embedding_cache()
    assert added == len(vectors.shipped_keys())
    assert vectors.seed_embedding_cache() == 0

    # when the index is rebuilt with vectors, the model is never called
    def no_model(self, texts, kind):
        raise AssertionError(f"embedded {len(texts)} texts")

    monkeypatch.setattr(semantic.E5Embedder, "embed", no_model)
    result = indexing.index_rebuild(with_vectors=True)
    # then every published demo record has its vector, and a demand's recommendations use them
    assert result.vectors == result.documents == len(list(indexing.published_documents()))
    index = indexing.current_index()
    model_id, keys, vecs = vectors.read_shipped()
    row_of = {k.tobytes(): i for i, k in enumerate(keys)}
    demand_doc = next(d for d in indexing.published_documents() if d.doc_id.startswith("demands:"))
    shipped = vecs[row_of[indexing.passage_key(model_id, demand_doc)]]
    np.testing.assert_array_equal(index.stored_vector(demand_doc.doc_id), shipped.astype(np.float32))
    demand = Demand.objects.get(pk=indexing.parse_doc_id(demand_doc.doc_id)[1])
    assert selectors.recommendations_for(obj=demand, user=None)["achievements"]
