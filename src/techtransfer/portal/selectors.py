"""Reads for the portal pages. Each runs a small, fixed number of queries whatever the data size."""

import datetime
from dataclasses import dataclass, field

from django.core.cache import caches
from django.db.models import Count, Q, Sum
from django.utils import timezone

from techtransfer.core import access, multichoice
from techtransfer.core.choices import HighTechField, RecordStatus
from techtransfer.core.models import IndustryCode
from techtransfer.core.registry import KINDS
from techtransfer.organizations.models import Organization
from techtransfer.regions.models import Region

PUBLISHED = RecordStatus.PUBLISHED


# ---------------------------------------------------------------- code lists for forms


def region_tree() -> list[tuple[Region, int]]:
    """Every region in tree order (siblings by ``sort_order``), with its depth: one query."""
    regions = list(Region.objects.only("id", "code", "name", "parent_id", "path", "sort_order"))
    children: dict = {}
    for r in regions:
        children.setdefault(r.parent_id, []).append(r)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.sort_order, r.code))
    ordered: list[tuple[Region, int]] = []

    def walk(parent_id, depth):
        for r in children.get(parent_id, []):
            ordered.append((r, depth))
            walk(r.pk, depth + 1)

    walk(None, 0)
    return ordered


def indent(label: str, depth: int) -> str:
    return "\u3000" * depth + label


def region_choices(*, value: str = "code") -> list[tuple]:
    return [(getattr(r, value) if value != "pk" else r.pk, indent(r.name, depth)) for r, depth in region_tree()]


def industry_choices(*, max_level: int = 4) -> list[tuple[str, str]]:
    """GB/T 4754 codes in tree order (门类 letter first, then its codes): one query."""
    rows = list(IndustryCode.objects.filter(level__lte=max_level).values_list("code", "name", "parent_id", "level"))
    root_of = {code: code for code, _n, _p, level in rows if level == 1}
    for code, _n, parent, level in rows:
        if level == 2:
            root_of[code] = parent
    rows.sort(key=lambda r: (root_of.get(r[0][:2], r[0]) if r[3] > 1 else r[0], "" if r[3] == 1 else r[0]))
    return [(code, indent(f"{code} {name}", level - 1)) for code, name, _p, level in rows]


def status_choices(*, kind, user) -> list[tuple[str, str]]:
    """The statuses of the records ``user`` may see: only 已发布 for the public, one query otherwise."""
    if not access.actor_of(user).is_authenticated:
        return [(PUBLISHED, RecordStatus.PUBLISHED.label)]
    present = set(
        kind.model.objects.visible_to(user)
        # An IN list (not "!= published") lets the status index skip the published bulk.
        .filter(status__in=[s for s in RecordStatus.values if s != PUBLISHED])
        .order_by()
        .values_list("status", flat=True)
        .distinct()
    )
    present.add(PUBLISHED)
    return [(value, label) for value, label in RecordStatus.choices if value in present]


def organization_choices_for_records(user):
    """The organizations ``user`` may register records for (the same rule as ``can_create_record_for``)."""
    actor = access.actor_of(user)
    organizations = Organization.objects.select_related("region").order_by("name")
    if actor.is_platform_admin or actor.has_role("scout"):
        return organizations
    return organizations.filter(Q(pk__in=actor.organization_ids) | access.region_subtree_q(actor))


def may_create_records(user) -> bool:
    actor = access.actor_of(user)
    return actor.is_authenticated and (
        actor.is_platform_admin or actor.has_role("scout") or bool(actor.organization_ids) or actor.is_region_admin
    )


def may_suggest_fields(user, *, kind, pk: int | None = None) -> bool:
    """Who may ask for 智能推荐 (it costs CPU, so never the public) — the rule of the page the panel is on: on the
    create page whoever may create records, on the edit page of record ``pk`` whoever may edit that record (an
    expert editing their own profile belongs to no organization; a member may not borrow another's record)."""
    if pk is None:
        return may_create_records(user)
    return kind.model.objects.filter(pk=pk).editable_by(user).exists()


# ---------------------------------------------------------------- home page


@dataclass
class FieldBar:
    value: str
    label: str
    achievements: int
    demands: int
    achievements_pct: int = 0
    demands_pct: int = 0


@dataclass
class HomeFigures:
    published: dict  # slug → count
    organizations: int
    open_demands: int
    open_demand_budget: object
    bottleneck_demands: int
    fields: list = field(default_factory=list)
    latest_achievements: list = field(default_factory=list)
    latest_demands: list = field(default_factory=list)


def percent(value: int, top: int) -> int:
    return round(100 * value / top) if top else 0


def home_figures_cached(*, version: int) -> HomeFigures:
    """``home_figures`` once per content version and day: they are the same for every visitor."""
    today = timezone.localdate()
    key = f"home-figures:{version}:{today.isoformat()}"
    figures = caches["default"].get(key)
    if figures is None:
        figures = home_figures(today=today)
        caches["default"].set(key, figures, 300)
    return figures


def home_figures(*, today: datetime.date | None = None) -> HomeFigures:
    """The public key figures: six aggregate queries, one group-by and two short lists, whatever the data size."""
    today = today or timezone.localdate()
    achievements = KINDS["achievements"].model.objects.published()
    demands = KINDS["demands"].model.objects.published()
    published = {
        slug: kind.model.objects.published().count()
        for slug, kind in KINDS.items()
        if slug not in {"achievements", "demands"}
    }
    open_q = Q(deadline__isnull=True) | Q(deadline__gte=today)
    field_counts = {
        f"f_{value}": Count("pk", filter=Q(fields__contains=multichoice.contains(value)))
        for value in HighTechField.values
    }
    demand_row = demands.aggregate(
        n=Count("pk"),
        open=Count("pk", filter=open_q),
        budget=Sum("budget", filter=open_q),
        bottleneck=Count("pk", filter=Q(is_bottleneck=True)),
        **field_counts,
    )
    by_field = dict(
        achievements.order_by()
        .values_list("high_tech_field")
        .annotate(n=Count("pk"))
        .values_list("high_tech_field", "n")
    )
    published["achievements"] = sum(by_field.values())
    published["demands"] = demand_row["n"]
    bars = [
        FieldBar(value=value, label=str(label), achievements=by_field.get(value, 0), demands=demand_row[f"f_{value}"])
        for value, label in HighTechField.choices
    ]
    top = max([b.achievements for b in bars] + [b.demands for b in bars] + [0])
    for b in bars:
        b.achievements_pct, b.demands_pct = percent(b.achievements, top), percent(b.demands, top)
    return HomeFigures(
        published={slug: published[slug] for slug in KINDS},
        organizations=Organization.objects.visible_to(None).count(),
        open_demands=demand_row["open"],
        open_demand_budget=demand_row["budget"] or 0,
        bottleneck_demands=demand_row["bottleneck"],
        fields=bars,
        latest_achievements=list(achievements.select_related("organization").order_by("-published_at", "-id")[:6]),
        latest_demands=list(demands.select_related("organization").order_by("-published_at", "-id")[:6]),
    )


# ---------------------------------------------------------------- workspace

IN_PROGRESS = (RecordStatus.DRAFT, RecordStatus.RETURNED, RecordStatus.WITHDRAWN)
WORKSPACE_LIMIT = 50


@dataclass
class WorkspaceSection:
    key: str
    items: list  # (kind, record)


def _mine_q(model, actor) -> Q:
    q = Q(organization_id__in=actor.organization_ids) | Q(created_by_id=actor.user_id)
    owner = getattr(model, "OWNER_USER_FIELD", None)
    if owner:
        q |= Q(**{f"{owner}_id": actor.user_id})
    return q


def workspace_sections(*, user) -> dict[str, list]:
    """What ``user`` must do now, by section: at most three queries per registry.

    - ``todo``: drafts, returned and withdrawn items of my organizations (or that I entered);
    - ``waiting``: my items submitted for review; ``approved``: my approved items, to publish;
    - ``review``: submitted items I may approve or return;
    - ``published``: my latest published items.
    """
    actor = access.actor_of(user)
    sections = {key: [] for key in ("todo", "waiting", "approved", "review", "published")}
    by_status = {
        RecordStatus.DRAFT: "todo",
        RecordStatus.RETURNED: "todo",
        RecordStatus.WITHDRAWN: "todo",
        RecordStatus.SUBMITTED: "waiting",
        RecordStatus.APPROVED: "approved",
    }
    for kind in KINDS.values():
        model = kind.model
        visible = model.objects.visible_to(user).select_related("organization")
        mine = visible.filter(_mine_q(model, actor))
        for record in mine.exclude(status=PUBLISHED).order_by("-updated_at", "-id")[:WORKSPACE_LIMIT]:
            sections[by_status[record.status]].append((kind, record))
        for record in mine.filter(status=PUBLISHED).order_by("-published_at", "-id")[:10]:
            sections["published"].append((kind, record))
        if actor.is_platform_admin or actor.is_region_admin:
            reviewable = model.objects.reviewable_by(user).filter(status=RecordStatus.SUBMITTED)
            for record in reviewable.select_related("organization").order_by("updated_at", "id")[:WORKSPACE_LIMIT]:
                sections["review"].append((kind, record))
    return sections


# ---------------------------------------------------------------- organizations


def organization_list(*, user, q: str = "", kind: str = "", region: str = ""):
    organizations = Organization.objects.visible_to(user).select_related("region")
    if q:
        organizations = organizations.filter(Q(name__icontains=q) | Q(credit_code__icontains=q))
    if kind:
        organizations = organizations.filter(kind=kind)
    if region:
        organizations = organizations.filter(region__path__contains=f"/{region}/")
    return organizations.order_by("name", "id")


def organization_named(*, user, pk) -> Organization | None:
    """The organization a list is narrowed to (``?organization=``), if ``user`` may see it; no query without one."""
    if not pk:
        return None
    return Organization.objects.visible_to(user).filter(pk=pk).first()


def organization_records(*, user, organization) -> list[tuple]:
    """How many records of each registry ``user`` may see for ``organization``: one query per registry."""
    return [
        (kind, kind.model.objects.visible_to(user).filter(organization=organization).count()) for kind in KINDS.values()
    ]
