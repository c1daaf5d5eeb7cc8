"""Index upkeep after commit (publish, withdraw, edit), the rebuild lock, and the background vector worker."""

import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from django.core.management import call_command

from techtransfer.core.services import record_create, record_transition, record_update
from techtransfer.core.tests.factories import DemandFactory
from techtransfer.demands.models import Demand
from techtransfer.matching import semantic
from techtransfer.matchmaking import indexing, selectors
from techtransfer.pilotbases.models import PilotBase

NEW_DEMAND = {"title": "钠离子电池正极材料烧结工艺", "description": "需要降低钠离子电池层状氧化物正极烧结能耗。"}


def found(q):
    return [r.obj for r in selectors.search(q=q, user=None)]


def status_text():
    out = io.StringIO()
    call_command("index", "status", stdout=out)
    return out.getvalue()


def test_a_published_demand_enters_the_index_once_the_commit_lands(people, corpus, django_capture_on_commit_callbacks):
    # given a built index and an approved demand that is not in it
    indexing.index_rebuild()
    demand = DemandFactory(organization=people.acme, status="approved", fields=",new_energy,", **NEW_DEMAND)
    # when it is published
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_transition(obj=demand, actor=people.acme_admin, action="publish")
        # (nothing happens before the commit)
        assert f"demands:{demand.pk}" not in indexing.current_index()
    # then the refresh after commit puts it in the index, and a search finds it
    assert len(callbacks) == 1
    assert f"demands:{demand.pk}" in indexing.current_index()
    assert found("钠离子正极") == [demand]
    assert indexing.index_pending() == 0
    assert indexing.read_stamp()["documents"] == 7


def test_a_withdrawn_record_leaves_the_index_after_the_refresh(people, corpus, django_capture_on_commit_callbacks):
    indexing.index_rebuild()
    assert f"achievements:{corpus.membrane.pk}" in indexing.current_index()
    with django_capture_on_commit_callbacks(execute=True):
        record_transition(obj=corpus.membrane, actor=people.acme_admin, action="withdraw")
    assert f"achievements:{corpus.membrane.pk}" not in indexing.current_index()
    assert indexing.read_stamp()["documents"] == 5
    assert indexing.index_pending() == 0


def test_a_draft_never_enters_the_index(people, corpus, django_capture_on_commit_callbacks):
    indexing.index_rebuild()
    stamp = indexing.read_stamp()
    # when a demand is created, edited, submitted and approved — but not published
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        demand = record_create(
            model=Demand, actor=people.acme_admin, fields={"organization": people.acme, "fields": "", **NEW_DEMAND}
        )
        record_update(obj=demand, actor=people.acme_admin, fields={"title": "钠离子电池正极材料烧结工艺（修订）"})
        record_transition(obj=demand, actor=people.acme_admin, action="submit")
        record_transition(obj=demand, actor=people.xiangshan_admin, action="approve")
    # then no refresh was scheduled, the index is the same build, and it does not hold the draft
    assert [c for c in callbacks if getattr(c, "func", None) is indexing.schedule_refresh] == []
    assert indexing.read_stamp() == stamp
    assert f"demands:{demand.pk}" not in indexing.current_index()
    assert found("钠离子正极") == []


def test_an_edit_of_a_published_record_changes_what_the_index_finds(people, corpus, django_capture_on_commit_callbacks):
    # given the published demand, found by words of its title
    indexing.index_rebuild()
    assert corpus.demand in found("隔膜涂覆")
    # when its owner withdraws it, rewrites it and has it published again (published records are not editable)
    with django_capture_on_commit_callbacks(execute=True):
        demand = record_transition(obj=corpus.demand, actor=people.acme_admin, action="withdraw")
        demand = record_update(obj=demand, actor=people.acme_admin, fields=NEW_DEMAND)
        demand = record_transition(obj=demand, actor=people.acme_admin, action="submit")
        demand = record_transition(obj=demand, actor=people.xiangshan_admin, action="approve")
    with django_capture_on_commit_callbacks(execute=True):
        record_transition(obj=demand, actor=people.xiangshan_admin, action="publish")
    # then the index finds it by the new text and no longer by the old
    assert found("钠离子正极") == [corpus.demand]
    assert corpus.demand not in found("隔膜涂覆")
    assert indexing.index_pending() == 0


def test_refresh_is_off_when_the_setting_says_so(people, corpus, settings, django_capture_on_commit_callbacks):
    settings.MATCHING_AUTO_UPDATE = "off"
    indexing.index_rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        record_transition(obj=corpus.membrane, actor=people.acme_admin, action="withdraw")
    assert f"achievements:{corpus.membrane.pk}" in indexing.current_index()
    assert indexing.index_pending() == 1  # `techtransfer index update` would rebuild


def test_the_lock_admits_one_rebuild_at_a_time(index_location):
    with indexing.rebuild_lock(blocking=False) as first:
        assert first is True
        # another thread of this process is refused at once ...
        in_thread = []
        thread = threading.Thread(target=lambda: in_thread.append(indexing.rebuild_lock(blocking=False).__enter__()))
        thread.start()
        thread.join()
        assert in_thread == [False]
        # ... and so is another process
        probe = (
            "import fcntl, sys\n"
            f"f = open({str(index_location / indexing.LOCK_FILE)!r}, 'a+b')\n"
            "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
        )
        assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 3
    # once released, the next taker gets it
    with indexing.rebuild_lock(blocking=False) as again:
        assert again is True


def test_a_refresh_that_finds_the_lock_taken_leaves_the_work_to_the_holder(people, corpus):
    # given another build holding the lock
    with indexing.rebuild_lock(blocking=False):
        # when a write asks for a refresh
        indexing.schedule_refresh(Demand)
        # then nothing is built now, but the request is left for the holder
        assert indexing.read_stamp() is None
        assert (indexing.index_dir() / indexing.REQUEST_FILE).exists()
    # and the holder's re-check (refresh_index when it is done) builds once and consumes the request
    assert indexing.refresh_index() == 1
    assert indexing.read_stamp()["documents"] == 6
    assert not (indexing.index_dir() / indexing.REQUEST_FILE).exists()
    assert indexing.refresh_index() == 0  # nothing requested or pending: no build


def test_background_mode_debounces_writes_into_one_refresh_off_the_request_thread(settings, monkeypatch):
    settings.MATCHING_AUTO_UPDATE = "background"
    monkeypatch.setattr(indexing, "DEBOUNCE_SECONDS", 0.3)
    runs = []

    def refresh_index():  # stands in for the build (covered above): which thread, and it takes the request
        runs.append((threading.current_thread().name, (indexing.index_dir() / indexing.REQUEST_FILE).exists()))
        (indexing.index_dir() / indexing.REQUEST_FILE).unlink()

    monkeypatch.setattr(indexing, "refresh_index", refresh_index)
    started = time.monotonic()
    for _ in range(3):
        indexing.schedule_refresh(Demand)
    assert time.monotonic() - started < 0.2  # no write waited for a build
    assert runs == []
    indexing.wait_for_refresh(timeout=5)
    assert runs == [("matching-index-refresh", True)]


def test_a_background_refresh_refused_the_lock_tries_again_until_it_builds(settings, monkeypatch):
    # given a build in another process holding the lock (this thread stands in for it)
    settings.MATCHING_AUTO_UPDATE = "background"
    monkeypatch.setattr(indexing, "DEBOUNCE_SECONDS", 0.1)
    builds = []  # the build itself is covered above; a thread cannot see this test's uncommitted rows
    monkeypatch.setattr(indexing, "_build", lambda **kw: builds.append(threading.current_thread().name))
    monkeypatch.setattr(indexing, "index_pending", lambda: 0)
    with indexing.rebuild_lock(blocking=False):
        indexing.schedule_refresh(Demand)
        time.sleep(0.5)  # the refresh thread was refused the lock (several times)
        assert builds == []
    # when the holder lets go, the next try builds once and takes the request
    indexing.wait_for_refresh(timeout=10)
    assert builds == ["matching-index-refresh"]
    assert not (indexing.index_dir() / indexing.REQUEST_FILE).exists()


def test_kinds_outside_the_index_schedule_nothing(settings):
    indexing.schedule_refresh(PilotBase)
    assert not (indexing.index_dir() / indexing.REQUEST_FILE).exists()
    assert indexing.read_stamp() is None


@pytest.fixture
def hash_vectors(settings):
    settings.MATCHING_EMBEDDER = "hash"


def test_worker_once_embeds_what_is_missing_and_rebuilds_with_vectors(
    people, corpus, hash_vectors, monkeypatch, django_capture_on_commit_callbacks
):
    # given a lexical index: no vectors yet
    indexing.index_rebuild()
    assert "语义向量：0 / 6 条。\n" in status_text()
    # when the worker runs once
    out, err = io.StringIO(), io.StringIO()
    call_command("index", "worker", "--once", stdout=out, stderr=err)
    # then it embedded the six texts and the demand's text read as a query (7 vectors), with progress on stderr,
    # and the index has their vectors
    assert out.getvalue() == "语义向量：新计算 7 条；索引已重建，6 / 6 条记录有向量。\n"
    assert "计算语义向量 [##############################] 6/6 (" in err.getvalue()
    assert "语义向量：6 / 6 条。\n" in status_text()
    assert indexing.read_worker_state()["state"] == "idle"
    assert (indexing.read_worker_state()["done"], indexing.read_worker_state()["total"]) == (6, 6)
    # and a second pass has nothing to do
    out = io.StringIO()
    call_command("index", "worker", "--once", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "语义向量：新计算 0 条；索引无需重建。\n"

    # when a demand is published, the refresh after commit reuses the six stored vectors and runs no model
    def no_model(self, texts, kind):
        raise AssertionError("the web process must not embed")

    demand = DemandFactory(organization=people.acme, status="approved", fields=",new_energy,", **NEW_DEMAND)
    with monkeypatch.context() as m:
        m.setattr(semantic.HashEmbedder, "embed", no_model)
        with django_capture_on_commit_callbacks(execute=True):
            record_transition(obj=demand, actor=people.acme_admin, action="publish")
    assert "语义向量：6 / 7 条。\n" in status_text()
    assert indexing.current_index().stored_vector(f"demands:{demand.pk}") is None
    # then the next worker pass embeds only the new text
    out = io.StringIO()
    call_command("index", "worker", "--once", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "语义向量：新计算 2 条；索引已重建，7 / 7 条记录有向量。\n"  # passage + query reading
    index = indexing.current_index()
    assert index.stored_vector(f"demands:{demand.pk}") is not None
    # a demand searches with its text read as a query; other kinds have no query reading
    text = indexing.document_for("demands", demand).full_text()
    expected = semantic.embed_queries(semantic.HashEmbedder(), [text])[0]
    assert np.allclose(index.stored_query_vector(f"demands:{demand.pk}"), expected, atol=1e-3)
    assert all(index.stored_query_vector(d) is None for d in index.doc_ids if not d.startswith("demands:"))


def test_status_shows_a_running_workers_progress(corpus):
    indexing.index_rebuild()
    indexing.write_worker_state(state="embedding", done=3, total=10)
    assert status_text().endswith(f"语义向量：0 / 6 条。\n后台正在计算语义向量：3 / 10 条（进程 {os.getpid()}）。\n")
    # a worker that died mid-run is not reported as running
    indexing.write_worker_state(state="embedding", done=3, total=10)
    state = indexing.read_worker_state()
    (indexing.index_dir() / indexing.WORKER_FILE).write_text(
        __import__("json").dumps({**state, "pid": 2**22 + 1}), "utf-8"
    )
    assert "后台正在计算" not in status_text()


def test_worker_refuses_an_unknown_model_setting(settings):
    settings.MATCHING_EMBEDDER = "gpt"
    with pytest.raises(Exception, match="语义模型配置有误"):
        call_command("index", "worker", "--once", stdout=io.StringIO(), stderr=io.StringIO())
