"""Reads of 精准对接: recommendations for a record, free-text search across kinds, and the funnel figures.

Every result is re-checked against the database when it is asked for: only records that are published now
*and* ``visible_to(user)`` come back, whatever the index (built earlier) still holds.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count
from django.utils.translation import gettext as _

from techtransfer.core import multichoice
from techtransfer.core.choices import CooperationMode, HighTechField, RecordStatus
from techtransfer.core.models import IndustryCode
from techtransfer.core.registry import KINDS, kind_for_model
from techtransfer.matching import normalize
from techtransfer.organizations.choices import OrganizationKind
from techtransfer.organizations.models import Organization
from techtransfer.regions.models import Region

from . import queryvectors
from .choices import FUNNEL, RANK, MatchStage
from .indexing import (
    INDEXED_KINDS,
    current_index,
    doc_id_for,
    parse_doc_id,
    record_fields,
    record_modes,
    record_readiness,
    record_text,
)
from .models import Match

# What each kind of record is matched with (issue #3: demand → achievements, experts, instruments;
# achievement → demands and enterprises). ``enterprises`` is not a registry: see ``enterprises_for``.
ENTERPRISES = "enterprises"
TARGETS = {
    "demands": ("achievements", "experts", "instruments"),
    "achievements": ("demands", ENTERPRISES),
}
# ------------------------------------------------------------------------------------- structured signals
# A result's score is the index's fused text score (0..1, relative to the query's best hit) plus small bonuses for
# what the two records' structured data share; docs/architecture.md ("Structured signals") states the same rule:
#
#   score = text + 0.05 same field + 0.05 same industry + 0.03 same region
#                + 0.02 transfer mode accepted + 0.02 price within budget + 0.02 ready for use
#
# - same field: a 高新技术领域 of one is a field of the other (every kind that has fields);
# - same industry: the same 国民经济行业大类 (GB/T 4754, two digits), demand ↔ achievement only (experts and
#   instruments carry no industry);
# - same region: the region, or one inside or above it (every kind);
# - transfer mode: the achievement offers a 转化方式 that the demand accepts as 合作方式 (demand ↔ achievement);
# - budget: the achievement's 意向价格 ≤ the demand's 预算. A price or budget not given is neutral; a price above
#   the budget earns nothing and the explanation says "报价超出预算" (it is the enterprise's to weigh, not ours to
#   hide);
# - ready for use (a demand's achievements only; an achievement's own readiness is the same for every demand it is
#   shown, so it would not reorder them): TRL ≥ 7 (a prototype demonstrated in an operating environment, what an
#   enterprise can take up), or ≥ 4 (validated in the laboratory) when the demand accepts 合作开发 — the two parties
#   then take it through 中试 together, which is what joint development means.
# The bonuses add at most 0.19, so text evidence dominates: a hit without any shared words never appears (the
# index returns it or not), and the codes can only reorder hits whose texts are close. Search (a typed query) has
# no record to compare with: only text counts, and the filters narrow.
FIELD_BONUS = 0.05
INDUSTRY_BONUS = 0.05
REGION_BONUS = 0.03
MODE_BONUS = 0.02
BUDGET_BONUS = 0.02
READINESS_BONUS = 0.02
READY_TRL = 7
READY_TRL_CO_DEVELOPMENT = 4
OVERSAMPLE = 4  # index hits fetched per result wanted, so results dropped by the access check leave enough
FILTER_OVERSAMPLE = 4  # more again when a filter can only be checked on the records (an index built without it)


@dataclass
class Result:
    kind: str  # registry slug
    obj: object
    score: float
    shared_terms: list[str]
    same_fields: list[str] = field(default_factory=list)  # Chinese labels
    same_region: str = ""
    explanation: str = ""
    text_score: float = 0.0  # the index's fused score, before the bonuses
    same_industry: str = ""  # name of the shared 行业大类
    shared_modes: list[str] = field(default_factory=list)  # Chinese labels of the modes both accept
    price_in_budget: bool | None = None  # None: price or budget not given (or not a demand ↔ achievement pair)
    readiness_level: int | None = None  # the achievement's TRL when it counts as ready for the demand

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
            "text_score": round(self.text_score, 4),
            "shared_terms": self.shared_terms,
            "same_fields": self.same_fields,
            "same_industry": self.same_industry,
            "same_region": self.same_region,
            "shared_modes": self.shared_modes,
            "price_in_budget": self.price_in_budget,
            "readiness_level": self.readiness_level,
            "explanation": self.explanation,
        }


def _field_label(code: str) -> str:
    try:
        return str(HighTechField(code).label)
    except ValueError:
        return code


def _mode_label(code: str) -> str:
    try:
        return str(CooperationMode(code).label)
    except ValueError:
        return code


def explain(
    shared_terms,
    *,
    same_fields=(),
    same_region="",
    same_industry="",
    shared_modes=(),
    price_in_budget=None,
    readiness_level=None,
) -> str:
    parts = []
    if shared_terms:
        parts.append(_("共同词语：%(t)s") % {"t": "、".join(shared_terms)})
    if same_industry:
        parts.append(_("行业：%(i)s") % {"i": same_industry})
    if same_fields:
        parts.append(_("同属高新技术领域：%(f)s") % {"f": "、".join(same_fields)})
    if same_region:
        parts.append(_("同在%(r)s") % {"r": same_region})
    if shared_modes:
        parts.append(_("转化方式相符：%(m)s") % {"m": "、".join(shared_modes)})
    if price_in_budget is True:
        parts.append(_("报价在预算内"))
    elif price_in_budget is False:
        parts.append(_("报价超出预算"))
    if readiness_level is not None:
        parts.append(_("技术就绪度 TRL %(n)s") % {"n": readiness_level})
    return "；".join(parts) or _("内容相近")


def _related_regions(a, b) -> bool:
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


@dataclass
class _Source:
    """What a record asking for recommendations brings to the comparison (read once per request)."""

    slug: str
    fields: set[str]
    region: str | None
    industry: str  # 大类, "" for none
    modes: set[str]
    price: Decimal | None  # an achievement's asking price
    budget: Decimal | None  # a demand's budget
    ready_trl: int | None  # for a demand: the TRL from which an achievement counts as ready

    @classmethod
    def of(cls, slug: str, obj) -> _Source:
        modes = set(record_modes(slug, obj))
        ready = None
        if slug == "demands":
            ready = READY_TRL_CO_DEVELOPMENT if CooperationMode.CO_DEVELOPMENT in modes else READY_TRL
        return cls(
            slug=slug,
            fields=set(record_fields(slug, obj)),
            region=obj.region.path if obj.region_id else None,
            industry=_industry_major(getattr(obj, "industry_id", None)),
            modes=modes,
            price=obj.asking_price if slug == "achievements" else None,
            budget=obj.budget if slug == "demands" else None,
            ready_trl=ready,
        )

    @functools.cached_property
    def industry_name(self) -> str:
        """The name of the source's 大类, read once when a result first shares it."""
        found = IndustryCode.objects.filter(code=self.industry).values_list("name", flat=True).first()
        return found or self.industry


PAIRED = {frozenset({"demands", "achievements"})}  # the pairs whose industry, modes and money are compared


def _signals(source: _Source | None, slug: str, obj) -> dict:
    """The structured signals of result ``obj`` (of kind ``slug``) for ``source``; see the rule above."""
    if source is None:
        return {}
    same = [c for c in record_fields(slug, obj) if c in source.fields]
    region_path = obj.region.path if obj.region_id else None
    out = {
        "same_fields": [_field_label(c) for c in same],
        "same_region": obj.region.name if _related_regions(region_path, source.region) else "",
    }
    if frozenset({source.slug, slug}) not in PAIRED:
        return out
    if source.industry and _industry_major(obj.industry_id) == source.industry:
        out["same_industry"] = source.industry_name
    modes = set(record_modes(slug, obj)) & source.modes
    out["shared_modes"] = [_mode_label(m) for m in CooperationMode.values if m in modes]  # in the choices' order
    price = source.price if slug == "demands" else obj.asking_price
    budget = obj.budget if slug == "demands" else source.budget
    if price is not None and budget is not None:
        out["price_in_budget"] = price <= budget
    if source.ready_trl is not None and obj.readiness_level is not None and obj.readiness_level >= source.ready_trl:
        out["readiness_level"] = obj.readiness_level
    return out


def _bonus(signals: dict) -> float:
    return (
        (FIELD_BONUS if signals.get("same_fields") else 0.0)
        + (INDUSTRY_BONUS if signals.get("same_industry") else 0.0)
        + (REGION_BONUS if signals.get("same_region") else 0.0)
        + (MODE_BONUS if signals.get("shared_modes") else 0.0)
        + (BUDGET_BONUS if signals.get("price_in_budget") is True else 0.0)
        + (READINESS_BONUS if signals.get("readiness_level") is not None else 0.0)
    )


def _hydrate(hits, *, user, k, source: _Source | None = None, filters: SearchFilters | None = None) -> list[Result]:
    """Index hits → results: fetch the records visible to ``user`` and published now (one query per kind),
    keep those that pass ``filters``, add the structured bonuses for ``source``, re-rank, keep ``k``."""
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
    for doc_id, score, why in hits:
        obj = objects.get(doc_id)
        if obj is None:  # withdrawn, returned, deleted or no longer visible since the index was built
            continue
        slug, _pk = parse_doc_id(doc_id)
        if filters is not None and not filters.admits(slug, obj):  # edited since the build, or not in the index
            continue
        signals = _signals(source, slug, obj)
        results.append(
            Result(
                kind=slug,
                obj=obj,
                score=score + _bonus(signals),
                text_score=score,
                shared_terms=list(why.shared_terms),
                explanation=explain(why.shared_terms, **signals),
                **signals,
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
    source = _Source.of(slug, obj)
    for t in targets:
        if t == ENTERPRISES:
            out[t] = enterprises_for(achievement=obj, user=user, k=k, index=index)
            continue
        hits = index.search(text, k * OVERSAMPLE, filters={"kind": t}, query_vector=query_vector, exclude=[own])
        out[t] = _hydrate(hits, user=user, k=k, source=source)
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


@dataclass(frozen=True)
class SearchFilters:
    """What the search page and ``GET /api/v1/matching/search`` narrow by (the registries' filter names).

    - ``region``: a region code; records in that region or one inside it;
    - ``field``: a 高新技术领域 code among the record's fields (achievements, demands, experts);
    - ``readiness_min``: achievements with at least this TRL (other kinds have none, so they drop out);
    - ``transfer_mode``: a ``CooperationMode`` that an achievement offers (转化方式) or a demand accepts (合作方式).

    The index carries each of them (``indexing.document_for``), so they narrow the search itself; an index built
    before a column existed is filtered on the records instead (``admits``), fetching more hits to keep ``k``.
    """

    region: str = ""
    field: str = ""
    readiness_min: int | None = None
    transfer_mode: str = ""

    def __bool__(self) -> bool:
        return bool(self.region or self.field or self.readiness_min or self.transfer_mode)

    def columns(self) -> set[str]:
        """The index columns these filters read."""
        wanted = {"region": self.region, "field": self.field, "trl": self.readiness_min, "mode": self.transfer_mode}
        return {name for name, value in wanted.items() if value}

    def index_filters(self, index, region_path: str | None) -> dict:
        """The filters for ``Index.search`` on the columns ``index`` has."""
        out = {}
        if self.region and "region" in index.fields:
            out["region__startswith"] = region_path or "\x00"  # an unknown region matches nothing
        if self.field and "field" in index.fields:
            out["field"] = self.field
        if self.readiness_min and "trl" in index.fields:
            out["trl"] = list(range(self.readiness_min, 10))
        if self.transfer_mode and "mode" in index.fields:
            out["mode"] = self.transfer_mode
        return out

    def admits(self, slug: str, obj) -> bool:
        if self.region:
            path = obj.region.path if obj.region_id else ""
            if not path or f"/{self.region}/" not in path:
                return False
        if self.field and self.field not in record_fields(slug, obj):
            return False
        if self.readiness_min:
            trl = record_readiness(slug, obj)
            if trl is None or trl < self.readiness_min:
                return False
        return not self.transfer_mode or self.transfer_mode in record_modes(slug, obj)


HYBRID = "hybrid"
LEXICAL = "lexical"


@dataclass
class SearchOutcome:
    results: list[Result]
    mode: str = LEXICAL  # HYBRID when the query's semantic vector took part
    pending: bool = False  # lexical now; a request with ``semantic="embed"`` would give hybrid results


def search_outcome(
    *, q: str, user, kinds=None, k: int = 20, filters: SearchFilters | None = None, semantic: str = "embed"
) -> SearchOutcome:
    """Free-text search across the indexed kinds, narrowed by ``filters``.

    ``semantic``: ``"embed"`` embeds the query when its vector is not cached (a model call in the request, see
    ``queryvectors``); ``"cached"`` uses a cached vector only and says whether embedding would help (``pending``);
    ``"off"`` is lexical.
    """
    q = (q or "").strip()
    index = current_index()
    if not q or index is None:
        return SearchOutcome([])
    kinds = [s for s in (kinds or INDEXED_KINDS) if s in INDEXED_KINDS]
    if not kinds:
        return SearchOutcome([])
    filters = filters or SearchFilters()
    region_path = None
    if filters.region:
        region_path = Region.objects.filter(code=filters.region).values_list("path", flat=True).first()
    fetch = k * OVERSAMPLE
    if filters.columns() - set(index.fields):
        fetch *= FILTER_OVERSAMPLE
    query = q[:2000]
    found = queryvectors.QueryVector(None)
    if semantic != "off":
        found = queryvectors.query_vector(index, query, embed=semantic == "embed")
    hits = index.search(
        query, fetch, filters={"kind": kinds, **filters.index_filters(index, region_path)}, query_vector=found.vector
    )
    # A hit of fused score 0 shares nothing with the query on either side (a small corpus or a strict filter
    # leaves such rows among the k best); the lexical side drops them the same way.
    hits = [hit for hit in hits if hit[1] > 0]
    results = _hydrate(hits, user=user, k=k, filters=filters if filters else None)
    return SearchOutcome(results, HYBRID if found.vector is not None else LEXICAL, found.pending)


def search(*, q: str, user, kinds=None, k: int = 20, filters: SearchFilters | None = None) -> list[Result]:
    """``search_outcome``'s results, the query embedded when it can be."""
    return search_outcome(q=q, user=user, kinds=kinds, k=k, filters=filters).results


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
