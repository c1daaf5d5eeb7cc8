"""Reads of 政策兑现: the library, entitlements and applications as a user may see them, the staff summary."""

from django.db.models import Count, Q, Sum

from techtransfer.core.access import actor_of
from techtransfer.policy import evaluate_policy
from techtransfer.policy.rowwise import evaluate

from . import engine
from .choices import ApplicationStatus, EntitlementStatus
from .models import Application, Entitlement, Notice, Policy

PAYABLE = (EntitlementStatus.ELIGIBLE, EntitlementStatus.CONFIRMED, EntitlementStatus.PAID)


def policy_list(*, q: str = "", level: str = ""):
    found = Policy.objects.annotate(clause_count=Count("clauses"))
    q = q.strip()
    if q:
        found = found.filter(Q(title__icontains=q) | Q(document_number__icontains=q) | Q(issuer__icontains=q))
    if level:
        found = found.filter(level=level)
    return found.order_by("-valid_from", "id")


def policy_clauses(policy: Policy) -> list[dict]:
    """The policy's clauses, each with the definition the engine uses (shipped or staff-written)."""
    library = engine.current_library()
    rows = []
    for clause in policy.clauses.order_by("clause_id"):
        engine_clause = library.clauses.get(clause.clause_id)
        versions = []
        for v in engine_clause.versions if engine_clause else ():
            versions.append(
                {
                    "label": v.label,
                    "condition": v.condition.source.strip(),
                    "amount": v.amount.source.strip() if v.amount is not None else "",
                    "cap": v.cap.source.strip() if v.cap is not None else "",
                    "source": v.source.cite(),
                    "quote": v.source.quote,
                }
            )
        rows.append({"clause": clause, "versions": versions})
    return rows


def notice_list(*, policy: Policy | None = None):
    found = Notice.objects.select_related("policy", "clause")
    if policy is not None:
        found = found.filter(policy=policy)
    return found.order_by("-opens_on", "-id")


def evaluate_facts(*, clause_id: str | None, policy_id: str | None, facts: dict, period, applied_on) -> list:
    """The calculator: facts in, results with traces out (the rules in force on ``applied_on``)."""
    library = engine.current_library()
    if clause_id:
        return [evaluate(library, clause_id, facts, period=period, applied_on=applied_on)]
    return evaluate_policy(library, policy_id, facts, period=period, applied_on=applied_on)


def entitlement_list(*, user, period: int | None = None, status: str | None = None, organization=None):
    found = Entitlement.objects.visible_to(user).select_related("organization", "organization__region", "clause")
    if period:
        found = found.filter(period=period)
    if status:
        found = found.filter(status=status)
    if organization is not None:
        found = found.filter(organization=organization)
    return found.order_by("organization__name", "clause__clause_id", "-period", "id")


def my_entitlements(*, user) -> list[dict]:
    """“您可享受的政策”: the user's organizations' entitlements, with reasons and missing facts from the trace."""
    if not actor_of(user).organization_ids:
        return []
    found = (
        Entitlement.objects.filter(organization_id__in=actor_of(user).organization_ids)
        .select_related("organization", "clause", "clause__policy")
        .order_by("organization__name", "status", "clause__clause_id", "-period")
    )
    rows = []
    for e in found:
        facts = e.trace.get("facts", {})
        rows.append(
            {
                "entitlement": e,
                "conditions": e.trace.get("conditions", []),
                "missing": [facts.get(m, {}).get("label", m) for m in e.missing],
                "parameters": e.trace.get("parameters", []),
                "source": e.trace.get("version", {}).get("source", {}),
            }
        )
    return rows


def staff_summary(*, user, period: int | None = None) -> dict:
    """Who is eligible for what, and the amount by region, among the entitlements ``user`` may see."""
    found = Entitlement.objects.visible_to(user).filter(status__in=PAYABLE)
    if period:
        found = found.filter(period=period)
    by_region = (
        found.values("organization__region__name")
        .annotate(enterprises=Count("organization", distinct=True), items=Count("id"), total=Sum("amount"))
        .order_by("organization__region__name")
    )
    by_clause = (
        found.values("clause__clause_id", "clause__title")
        .annotate(items=Count("id"), total=Sum("amount"))
        .order_by("clause__clause_id")
    )
    total = found.aggregate(total=Sum("amount"), items=Count("id"))
    return {
        "by_region": list(by_region),
        "by_clause": list(by_clause),
        "total": total["total"],
        "items": total["items"],
    }


def application_list(*, user, period: int | None = None, status: str | None = None):
    found = Application.objects.visible_to(user).select_related("organization", "notice", "clause")
    if period:
        found = found.filter(period=period)
    if status:
        found = found.filter(status=status)
    return found.order_by("-created_at", "-id")


def applications_to_review(*, user):
    return application_list(user=user, status=ApplicationStatus.SUBMITTED).reviewable_by(user)
