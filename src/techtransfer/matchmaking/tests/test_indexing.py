"""Index upkeep: rebuild, lazy load and reload on a new build stamp, the pending counter, the command."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from techtransfer.core.services import record_transition
from techtransfer.matchmaking import indexing, selectors


def test_rebuild_indexes_published_records_only(corpus, index_location):
    # given the corpus (six published records of the indexed kinds and one draft)
    # when the index is rebuilt
    result = indexing.index_rebuild()
    # then only the published ones are in it, and the stamp says so
    assert result.documents == 6
    index = indexing.current_index()
    assert sorted(index.doc_ids) == sorted(
        [
            f"achievements:{corpus.membrane.pk}",
            f"achievements:{corpus.far_membrane.pk}",
            f"achievements:{corpus.noise.pk}",
            f"demands:{corpus.demand.pk}",
            f"experts:{corpus.expert.pk}",
            f"instruments:{corpus.instrument.pk}",
        ]
    )
    assert indexing.read_stamp()["documents"] == 6
    assert (index_location / "records" / "manifest.json").exists()


def test_no_index_yet_means_no_results_and_everything_pending(corpus):
    assert indexing.current_index() is None
    assert selectors.search(q="锂电池隔膜", user=None) == []
    assert indexing.index_pending() == 6


def test_index_is_loaded_once_and_reloaded_when_the_stamp_changes(corpus):
    indexing.index_rebuild()
    first = indexing.current_index()
    # when nothing was rebuilt, the same loaded object serves every call
    assert indexing.current_index() is first
    # when another process rebuilds (a new stamp), the next call loads the new build
    indexing.index_rebuild()
    second = indexing.current_index()
    assert second is not first
    assert len(second) == 6


def test_withdrawn_record_never_appears_and_counts_as_pending(people, corpus):
    indexing.index_rebuild()
    before = [r.obj for r in selectors.search(q="陶瓷涂覆隔膜", user=None)]
    assert corpus.membrane in before
    assert indexing.index_pending() == 0
    # when acme withdraws the achievement (the index is not touched)
    record_transition(obj=corpus.membrane, actor=people.acme_admin, action="withdraw")
    # then it is gone from results at once — even for its owner, who may still see it
    assert corpus.membrane not in [r.obj for r in selectors.search(q="陶瓷涂覆隔膜", user=None)]
    assert corpus.membrane not in [r.obj for r in selectors.search(q="陶瓷涂覆隔膜", user=people.acme_admin)]
    recs = selectors.recommendations_for(obj=corpus.demand, user=None)["achievements"]
    assert corpus.membrane not in [r.obj for r in recs]
    # and the pending counter asks for a rebuild
    assert indexing.index_pending() == 1


def test_draft_edits_are_not_pending_but_publishing_is(people, corpus):
    indexing.index_rebuild()
    corpus.draft.abstract = "改了草稿"
    corpus.draft.save()
    assert indexing.index_pending() == 0
    corpus.draft.status = "approved"
    corpus.draft.save()
    record_transition(obj=corpus.draft, actor=people.rival_member, action="publish")
    assert indexing.index_pending() == 1


def test_update_rebuilds_only_when_something_is_pending(people, corpus):
    indexing.index_rebuild()
    assert indexing.index_update() is None
    record_transition(obj=corpus.noise, actor=people.rival_member, action="withdraw")
    result = indexing.index_update()
    assert result.documents == 5
    assert indexing.index_pending() == 0
    assert f"achievements:{corpus.noise.pk}" not in indexing.current_index().doc_ids


def test_record_changed_during_a_build_stays_pending(corpus, monkeypatch):
    # the stamp is the time the build started
    started = timezone.now() - datetime.timedelta(minutes=5)
    monkeypatch.setattr(indexing.timezone, "now", lambda: started)
    indexing.index_rebuild()
    assert indexing.index_pending() == 6  # every published record was saved after the stamp (the draft is not counted)


@pytest.mark.parametrize("action", ["rebuild", "update"])
def test_command_prints_a_summary_and_a_progress_bar(corpus, index_location, action):
    out, err = io.StringIO(), io.StringIO()
    call_command("index", action, stdout=out, stderr=err)
    assert out.getvalue() == f"索引已重建：6 条记录（仅词语），位于 {index_location}。\n"
    assert err.getvalue().endswith("[##############################] 6/6 (" + err.getvalue().rsplit("(", 1)[1])
    assert "读取记录 [" in err.getvalue()
    out = io.StringIO()
    call_command("index", "update", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "索引已是最新，无需重建。\n"
    out = io.StringIO()
    call_command("index", "status", stdout=out)
    assert out.getvalue().startswith("索引：6 条记录，构建于 ")
    assert out.getvalue().endswith("；待更新 0 条。\n语义向量：0 / 6 条。\n")


def test_with_vectors_stores_them_and_records_use_their_own(corpus, settings, tmp_path):
    # given a fast stand-in for e5 (tests never run the real model)
    settings.MATCHING_EMBEDDER = "hash"
    # when the index is rebuilt with vectors
    result = indexing.index_rebuild(with_vectors=True)
    # then the stored vectors are used, and a demand still gets its explained achievements
    assert (result.with_vectors, result.vectors) == (True, 6)
    index = indexing.current_index()
    assert index.vectors.shape == (6, 256)
    assert list((tmp_path / "embeddings" / "hash-bigram-256").iterdir())  # computed once, cached for next time
    recs = selectors.recommendations_for(obj=corpus.demand, user=None)["achievements"]
    assert recs[0].obj == corpus.membrane
    assert recs[0].explanation.endswith("同属高新技术领域：新能源与节能；同在相山区；技术就绪度 TRL 6")
