"""``techtransfer eval retrieval``: indexes a corpus, prints the metrics, writes the run file."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from techtransfer.matching import evaluation

CORPUS = [
    {"_id": "d1", "text": "一种锂离子电池隔膜的制备方法，提高隔膜的耐热性。"},
    {"_id": "d2", "text": "废旧锂离子电池正极材料的回收工艺。"},
    {"_id": "d3", "text": "稻谷种植中的节水灌溉技术与智能控制系统。"},
]
QUERIES = [{"_id": "q1", "text": "鋰電池隔膜"}, {"_id": "q2", "text": "节水灌溉"}, {"_id": "q3", "text": "电池回收"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td2\t2\nq3\td1\t0\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in CORPUS), "utf-8")
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUERIES), "utf-8")
    (tmp_path / "r.tsv").write_text(QRELS, "utf-8")
    return tmp_path


def test_eval_retrieval_prints_metrics_and_writes_the_run(files, capsys):
    argv = ["--corpus", str(files / "c.jsonl"), "--queries", str(files / "q.jsonl"), "--qrels", str(files / "r.tsv")]
    argv += ["--run-out", str(files / "run.tsv"), "--model", "none"]
    assert evaluation.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "corpus c.jsonl: 3 documents; queries q.jsonl: 3 (3 with a relevant document); model none"
    assert out[1:6] == [
        "recall@1    1.0000",
        "recall@10   1.0000",
        "recall@100  1.0000",
        "mrr@10      1.0000",
        "ndcg@10     1.0000",
    ]
    lines = (files / "run.tsv").read_text("utf-8").splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["q1", "d1", "1"], ["q1", "d2", "2"], ["q2", "d3", "1"], ["q3", "d2", "1"], ["q3", "d1", "2"],
    ]  # fmt: skip
    assert lines[0].split("\t")[3] == "1.000000"


def test_management_command_dispatches(files, capsys):
    call_command(
        "eval", "retrieval", "--corpus", str(files / "c.jsonl"), "--queries", str(files / "q.jsonl"),
        "--qrels", str(files / "r.tsv"), "--model", "none", "--traditional",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "queries in traditional characters" in out and "ndcg@10     1.0000" in out


def test_classify_reports_when_its_module_is_missing(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **kw):
        if name == "techtransfer.fieldsuggest.evaluation":
            raise ImportError("No module named 'techtransfer.fieldsuggest'")
        return real(name, *a, **kw)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(CommandError, match="eval classify is not available"):
        call_command("eval", "classify", "--train", "t.jsonl")
