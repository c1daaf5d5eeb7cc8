"""Reads of 精准对接: recommendations for a record, free-text search across kinds, and the funnel figures.

Every result is re-checked against the database when it is asked for: only records that are published now
*and* ``visible_to(user)`` come back, whatever the index (built earlier) still holds.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext as _

from techtransfer.core import multichoice
from techtransfer.core.choices import HighTechField, RecordStatus
from techtransfer.core.models import IndustryCode
from techtransfer.core.registry import KINDS, kind_for_model
from techtransfer.matching import normalize
from techtransfer.organizations.choices import OrganizationKind
from techtransfer.organizations.models import Organization

from .choices import FUNNEL, RANK, MatchStage
from .indexing import INDEXED_KINDS, current_index, doc_id_for, parse_doc_id, record_fields, record_text
from .models import Match

# What each kind of record is matched with (issue #3: demand → achievements, experts, instruments;
# achievement → demands and enterprises). ``enterprises`` is not a registry: see ``enterprises_for``.
ENTERPRISES = "enterprises"
TARGETS = {
    "demands": ("achievements", "experts", "instruments"),
    "achievements": ("demands", ENTERPRISES),
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
        slug, _pk = parse_doc_id(doc_id)
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
    """为您推荐: for a demand, achievements, experts and instruments; for an achievement, demands and the
    enterprises that may need it (``enterprises_for``).

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
    # a demand searches with its text read as a typed query (whole + sentence pieces; judged demands nDCG@10
    # 0.501 against 0.440 with its stored passage vector), other records with their passage vector
    query_vector = index.stored_query_vector(own)
    if query_vector is None:
        query_vector = index.stored_vector(own)
    region = obj.region.path if obj.region_id else None
    for t in targets:
        if t == ENTERPRISES:
            out[t] = enterprises_for(achievement=obj, user=user, k=k, index=index)
            continue
        hits = index.search(text, k * OVERSAMPLE, filters={"kind": t}, query_vector=query_vector, exclude=[own])
        out[t] = _hydrate(hits, user=user, k=k, query_fields=record_fields(slug, obj), query_region=region)
    return out


# ------------------------------------------------------------------------------- achievement → enterprises
# An enterprise (organization of kind 企业) is ranked for a published achievement from what the platform knows
# about it; docs/architecture.md ("Achievement → enterprises") states the same rule:
#
#   score = 0.6 × best demand + 0.4 × profile + 0.05 same industry + 0.05 same field + 0.03 same region
#
# - best demand: the index's fused score (0..1) of the enterprise's best published demand for the achievement's
#   text, when it shares a specific word with it (``_is_specific``) — an enterprise that wrote down a matching
#   need is the strongest evidence, so it weighs most;
# - profile: the IDF-weighted share of the achievement's most specific words (``PROFILE_QUERY_WORDS``, IDF from
#   the index's own corpus) found in the enterprise's name and 简介 (0..1);
# - same industry: one of its published demands is in the achievement's 国民经济行业大类 (GB/T 4754, two digits);
#   same field: one of its published demands names the achievement's 高新技术领域 (organizations carry neither
#   code themselves, so they are read from what the enterprise published);
# - same region: the enterprise lies in the achievement's region or one inside or above it.
# An enterprise needs text evidence (a matching demand or a shared profile word); codes and region only add.
ENTERPRISE_DEMAND_WEIGHT = 0.6
ENTERPRISE_PROFILE_WEIGHT = 0.4
INDUSTRY_BONUS = 0.05
ENTERPRISE_DEMAND_HITS = 50  # demand hits read from the index: enough for the best demand of each enterprise
SPECIFIC_DF_SHARE = 0.05  # a demand shares a specific word with the achievement: one in ≤ 5 % of the documents
PROFILE_QUERY_WORDS = 12  # the achievement's most specific words compared with each profile
MAX_SHARED_TERMS = 8
DEMAND_TERMS = 4  # of those, at most this many from the demand (the index lists them rarest first)


@dataclass
class EnterpriseResult:
    obj: Organization
    score: float
    demand: object | None = None  # the enterprise's best matching published demand
    demand_score: float = 0.0
    profile_score: float = 0.0
    shared_terms: list[str] = field(default_factory=list)  # specific words shared with the demand, then the profile
    same_industry: str = ""  # name of the shared 行业大类
    same_fields: list[str] = field(default_factory=list)
    same_region: str = ""
    explanation: str = ""

    kind = "organizations"

    @property
    def title(self) -> str:
        return self.obj.name

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.obj.pk,
            "title": self.title,
            "score": round(self.score, 4),
            "demand": None if self.demand is None else {"id": self.demand.pk, "title": self.demand.title},
            "demand_score": round(self.demand_score, 4),
            "profile_score": round(self.profile_score, 4),
            "shared_terms": self.shared_terms,
            "same_industry": self.same_industry,
            "same_fields": self.same_fields,
            "same_region": self.same_region,
            "explanation": self.explanation,
        }


def explain_enterprise(*, demand, shared_terms, same_industry, same_fields, same_region) -> str:
    parts = []
    if demand is not None:
        parts.append(_("需求《%(d)s》与本成果相关") % {"d": demand.title})
    if shared_terms:
        parts.append(_("共同词语：%(t)s") % {"t": "、".join(shared_terms)})
    if same_industry:
        parts.append(_("行业：%(i)s") % {"i": same_industry})
    if same_fields:
        parts.append(_("同属高新技术领域：%(f)s") % {"f": "、".join(same_fields)})
    if same_region:
        parts.append(_("同在%(r)s") % {"r": same_region})
    return "；".join(parts)


@functools.lru_cache(maxsize=20_000)
def _profile_words(analyzer, text: str) -> frozenset[str]:
    """An enterprise profile's content words (cached: profiles change rarely and are read on every request)."""
    return frozenset(w for w in analyzer.words(normalize(text).lower()) if len(w) >= 2)


def _idf(index, word: str) -> float:
    sub = index.lexical["words"]
    term = sub.vocab.get(word)
    df = 0 if term is None else sub.document_frequency(term)
    return math.log((sub.n_docs + 1) / (df + 1)) + 1.0


def _specific_words(index, text: str, n: int) -> dict[str, float]:
    """The ``n`` words of ``text`` with the highest IDF (ties: first occurrence) → their IDF."""
    words = [w for w in dict.fromkeys(index.analyzer.words(normalize(text).lower())) if len(w) >= 2]
    weighted = sorted(((w, _idf(index, w)) for w in words), key=lambda x: -x[1])  # stable: first occurrence
    return dict(weighted[:n])


def _is_specific(index, term: str) -> bool:
    """Whether ``term`` is a word of the index found in at most ``SPECIFIC_DF_SHARE`` of its documents (at least
    two), and not a bare number. Character bigrams (the index's fallback when no whole word is shared) are not."""
    sub = index.lexical["words"]
    term_id = sub.vocab.get(term)
    if term_id is None or term.isdigit():
        return False
    return sub.document_frequency(term_id) <= max(2, SPECIFIC_DF_SHARE * sub.n_docs)


def _industry_major(code: str | None) -> str:
    """The 大类 (two digits) of a GB/T 4754 code; empty for none or a 门类 letter (too broad to mean anything)."""
    return code[:2] if code and len(code) >= 2 and code[:2].isdigit() else ""


def enterprises_for(*, achievement, user, k: int = 10, index=None) -> list[EnterpriseResult]:
    """可能需要该成果的企业: enterprises ``user`` may see, ranked for a published ``achievement`` (rule above).

    Only published demands count, re-checked against the database like every other result; the achievement's
    own organization is left out. Empty before the index is built or while the achievement is unpublished.
    """
    index = index or current_index()
    if index is None or achievement.status != RecordStatus.PUBLISHED:
        return []
    Demand = KINDS["demands"].model
    title, body = record_text("achievements", achievement)
    text = f"{title}。{body}"
    own = doc_id_for("achievements", achievement.pk)
    enterprises = {
        org.pk: org
        for org in Organization.objects.visible_to(user)
        .filter(kind=OrganizationKind.ENTERPRISE)
        .exclude(pk=achievement.organization_id or 0)
        .select_related("region")
        .only("pk", "name", "description", "region__path", "region__name")
    }
    if not enterprises:
        return []

    # (a) the best published demand of each enterprise among the index's demand hits
    hits = index.search(
        text,
        ENTERPRISE_DEMAND_HITS,
        filters={"kind": "demands"},
        query_vector=index.stored_vector(own),
        exclude=[own],
    )
    # A hit counts as evidence only when it shares a specific word: the fused score is relative to the query's
    # best hit, so a demand sharing only a common word ("制备") or a bare number would otherwise score high.
    hit_of = {}
    for doc_id, score, why in hits:
        specific = [t for t in why.shared_terms if _is_specific(index, t)]
        if specific:
            hit_of[parse_doc_id(doc_id)[1]] = (score, specific)
    best: dict[int, tuple[float, object]] = {}
    for demand in (
        Demand.objects.visible_to(user)
        .filter(pk__in=hit_of, status=RecordStatus.PUBLISHED, organization_id__in=enterprises)
        .only("pk", "title", "organization_id")
    ):
        candidate = (hit_of[demand.pk][0], demand)
        current = best.get(demand.organization_id)
        if current is None or (candidate[0], -demand.pk) > (current[0], -current[1].pk):
            best[demand.organization_id] = candidate

    # (b) the profile against the achievement's most specific words
    query_words = _specific_words(index, text, PROFILE_QUERY_WORDS)
    query_weight = sum(query_words.values())
    profiles = {}
    for pk, org in enterprises.items():
        words = _profile_words(index.analyzer, f"{org.name}。{org.description}")
        shared = [w for w in query_words if w in words]
        if shared:
            profiles[pk] = shared
    eligible = set(best) | set(profiles)
    if not eligible:
        return []

    # codes of the eligible enterprises, from their published demands
    industries: dict[int, set[str]] = defaultdict(set)
    fields: dict[int, set[str]] = defaultdict(set)
    for org_id, industry, codes in (
        Demand.objects.visible_to(user)
        .filter(status=RecordStatus.PUBLISHED, organization_id__in=eligible)
        .values_list("organization_id", "industry_id", "fields")
    ):
        if _industry_major(industry):
            industries[org_id].add(_industry_major(industry))
        fields[org_id].update(multichoice.decode(codes))
    major = _industry_major(achievement.industry_id)
    major_name = ""
    if major and any(major in found for found in industries.values()):
        major_name = IndustryCode.objects.filter(code=major).values_list("name", flat=True).first() or major
    achievement_region = achievement.region.path if achievement.region_id else None

    results = []
    for pk in eligible:
        org = enterprises[pk]
        demand_score, demand = best.get(pk, (0.0, None))
        shared = profiles.get(pk, [])
        # named: the specific words shared with the demand (rarest first), then those shared with the profile
        named = (hit_of[demand.pk][1][:DEMAND_TERMS] if demand is not None else []) + shared
        profile_score = sum(query_words[w] for w in shared) / query_weight if query_weight else 0.0
        same_industry = major_name if major and major in industries[pk] else ""
        field_code = achievement.high_tech_field
        same_fields = [_field_label(field_code)] if field_code and field_code in fields[pk] else []
        region_path = org.region.path if org.region_id else None
        same_region = org.region.name if _related_regions(region_path, achievement_region) else ""
        terms = []
        for w in named:  # a word already listed, or inside one listed, adds nothing
            if len(terms) < MAX_SHARED_TERMS and not any(w in t for t in terms):
                terms.append(w)
        score = (
            ENTERPRISE_DEMAND_WEIGHT * demand_score
            + ENTERPRISE_PROFILE_WEIGHT * profile_score
            + (INDUSTRY_BONUS if same_industry else 0.0)
            + (FIELD_BONUS if same_fields else 0.0)
            + (REGION_BONUS if same_region else 0.0)
        )
        results.append(
            EnterpriseResult(
                obj=org,
                score=score,
                demand=demand,
                demand_score=demand_score,
                profile_score=profile_score,
                shared_terms=terms,
                same_industry=same_industry,
                same_fields=same_fields,
                same_region=same_region,
                explanation=explain_enterprise(
                    demand=demand,
                    shared_terms=terms,
                    same_industry=same_industry,
                    same_fields=same_fields,
                    same_region=same_region,
                ),
            )
        )
    results.sort(key=lambda r: (-r.score, r.obj.name, r.obj.pk))
    return results[:k]


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
