"""Reads of 精准对接: recommendations for a record, free-text search across kinds, and the funnel figures.

Every result is re-checked against the database when it is asked for: only records that are published now
*and* ``visible_to(user)`` come back, whatever the index (built earlier) still holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext as _

from techtransfer.core.choices import HighTechField, RecordStatus
from techtransfer.core.registry import KINDS, kind_for_model

from .choices import FUNNEL, RANK, MatchStage
from .indexing import INDEXED_KINDS, current_index, doc_id_for, parse_doc_id, record_fields, record_text
from .models import Match

# What each kind of record is matched with (issue #3: demand → achievements, experts, instruments;
# achievement → demands).
TARGETS = {
    "demands": ("achievements", "experts", "instruments"),
    "achievements": ("demands",),
}
FIELD_BONUS = 0.05  # same 高新技术领域
REGION_BONUS = 0.03  # same region (or one inside the other)
OVERSAMPLE = 4  # index hits fetched per result wanted, so results dropped by the access check leave enough


@dataclass
class Result:
    kind: str  # registry slug
    obj: object
    score: float
    shared_terms: list[str]
    same_fields: list[str] = field(default_factory=list)  # Chinese labels
    same_region: str = ""
    explanation: str = ""

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind].label

    @property
    def title(self) -> str:
        return getattr(self.obj, KINDS[self.kind].title_field)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.obj.pk,
            "title": self.title,
            "score": round(self.score, 4),
            "shared_terms": self.shared_terms,
            "same_fields": self.same_fields,
            "same_region": self.same_region,
            "explanation": self.explanation,
        }


def _field_label(code: str) -> str:
    try:
        return str(HighTechField(code).label)
    except ValueError:
        return code


def explain(shared_terms, same_fields, same_region) -> str:
    parts = []
    if shared_terms:
        parts.append(_("共同词语：%(t)s") % {"t": "、".join(shared_terms)})
    if same_fields:
        parts.append(_("同属高新技术领域：%(f)s") % {"f": "、".join(same_fields)})
    if same_region:
        parts.append(_("同在%(r)s") % {"r": same_region})
    return "；".join(parts) or _("内容相近")


def _related_regions(a, b) -> bool:
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def _hydrate(hits, *, user, k, query_fields=(), query_region=None) -> list[Result]:
    """Index hits → results: fetch the records visible to ``user`` and published now (one query per kind),
    add the structured bonuses, re-rank, keep ``k``."""
    wanted = defaultdict(list)
    for doc_id, _score, _why in hits:
        slug, pk = parse_doc_id(doc_id)
        wanted[slug].append(pk)
    objects = {}
    for slug, pks in wanted.items():
        kind = KINDS[slug]
        rows = (
            kind.model.objects.visible_to(user)
            .filter(pk__in=pks, status=RecordStatus.PUBLISHED)
            .select_related(*kind.select_related)
        )
        objects.update({doc_id_for(slug, obj.pk): obj for obj in rows})
    results = []
    query_fields = set(query_fields)
    for doc_id, score, why in hits:
        obj = objects.get(doc_id)
        if obj is None:  # withdrawn, returned, deleted or no longer visible since the index was built
            continue
        slug = doc_id.partition(":")[0]
        same = [c for c in record_fields(slug, obj) if c in query_fields]
        region_path = obj.region.path if obj.region_id else None
        same_region = obj.region.name if _related_regions(region_path, query_region) else ""
        total = score + (FIELD_BONUS if same else 0.0) + (REGION_BONUS if same_region else 0.0)
        labels = [_field_label(c) for c in same]
        results.append(
            Result(
                kind=slug,
                obj=obj,
                score=total,
                shared_terms=list(why.shared_terms),
                same_fields=labels,
                same_region=same_region,
                explanation=explain(why.shared_terms, labels, same_region),
            )
        )
    results.sort(key=lambda r: (-r.score, r.kind, r.obj.pk))
    return results[:k]


def recommendations_for(*, obj, user, target: str | None = None, k: int = 10) -> dict[str, list[Result]]:
    """为您推荐: for a demand, achievements, experts and instruments; for an achievement, demands.

    ``target`` narrows to one kind. Empty lists before the index is built.
    """
    slug = kind_for_model(type(obj)).slug
    targets = TARGETS.get(slug, ())
    if target is not None:
        targets = tuple(t for t in targets if t == target)
    out = {t: [] for t in targets}
    index = current_index()
    if index is None or not targets:
        return out
    title, body = record_text(slug, obj)
    text = f"{title}。{body}"
    own = doc_id_for(slug, obj.pk)
    query_vector = index.stored_vector(own)
    region = obj.region.path if obj.region_id else None
    for t in targets:
        hits = index.search(text, k * OVERSAMPLE, filters={"kind": t}, query_vector=query_vector, exclude=[own])
        out[t] = _hydrate(hits, user=user, k=k, query_fields=record_fields(slug, obj), query_region=region)
    return out


def search(*, q: str, user, kinds=None, k: int = 20) -> list[Result]:
    """Free-text search across the indexed kinds (lexical: a request never waits for the embedding model)."""
    q = (q or "").strip()
    index = current_index()
    if not q or index is None:
        return []
    kinds = [s for s in (kinds or INDEXED_KINDS) if s in INDEXED_KINDS]
    if not kinds:
        return []
    hits = index.search(q[:2000], k * OVERSAMPLE, filters={"kind": kinds})
    return _hydrate(hits, user=user, k=k)


# --------------------------------------------------------------------------------------------------- funnel
# What a match's page, list row and API shape read: fetched with the match, one query.
MATCH_RELATED = ("demand", "achievement", "expert", "instrument", "driven_by", "region")


def match_list(*, user, stage: str = "", demand=None):
    qs = Match.objects.visible_to(user).select_related(*MATCH_RELATED)
    if stage:
        qs = qs.filter(stage=stage)
    if demand is not None:
        qs = qs.filter(demand=demand)
    return qs


def match_events(match):
    return match.events.select_related("actor").order_by("created_at", "id")


def _rates(counts: Counter) -> dict:
    """``counts[(stage, furthest)]`` → per funnel step: how many reached it and the share of the previous step."""
    reached = {s: 0 for s in FUNNEL}
    total = 0
    dropped = 0
    now = {s: 0 for s in MatchStage.values}
    for (stage, furthest), n in counts.items():
        total += n
        now[stage] += n
        if stage == MatchStage.DROPPED:
            dropped += n
        for s in FUNNEL:
            if RANK[s] <= RANK.get(furthest, 0):
                reached[s] += n
    steps = []
    previous = None
    for s in FUNNEL:
        rate = None if previous is None else (round(reached[s] / reached[previous], 4) if reached[previous] else None)
        steps.append(
            {"stage": str(s), "label": str(s.label), "current": now[s], "reached": reached[s], "conversion": rate}
        )
        previous = s
    signed = reached[MatchStage.SIGNED]
    return {
        "total": total,
        "dropped": dropped,
        "signed": signed,
        "signed_rate": round(signed / total, 4) if total else None,
        "stages": steps,
    }


def funnel_stats(*, user) -> dict:
    """Counts and conversion rates per stage, per scout (driver) and per region, over the matches ``user`` sees.

    Conversion of a step = matches that reached it / matches that reached the step before (a dropped match
    counts as having reached the step it was dropped at).
    """
    rows = (
        Match.objects.visible_to(user)
        .values(
            "stage",
            "furthest_stage",
            "driven_by_id",
            "driven_by__username",
            "driven_by__display_name",
            "region_id",
            "region__name",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    overall = Counter()
    by_scout: dict = defaultdict(Counter)
    by_region: dict = defaultdict(Counter)
    scout_names, region_names = {}, {}
    for r in rows:
        key = (r["stage"], r["furthest_stage"])
        overall[key] += r["n"]
        by_scout[r["driven_by_id"]][key] += r["n"]
        scout_names[r["driven_by_id"]] = r["driven_by__display_name"] or r["driven_by__username"]
        by_region[r["region_id"]][key] += r["n"]
        region_names[r["region_id"]] = r["region__name"] or _("未指定区域")
    return {
        "overall": _rates(overall),
        "by_scout": sorted(
            ({"id": i, "name": scout_names[i], **_rates(c)} for i, c in by_scout.items()),
            key=lambda x: (-x["total"], x["name"]),
        ),
        "by_region": sorted(
            ({"id": i, "name": region_names[i], **_rates(c)} for i, c in by_region.items()),
            key=lambda x: (-x["total"], str(x["name"])),
        ),
    }
