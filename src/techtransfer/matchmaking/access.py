"""Who may see and drive matches.

- platform administrators and auditors see every match; a region's administrators those of their region;
- the person who drives a match sees it, and so do the members of the demanding organization;
- scouts, commissioners, region administrators and platform administrators may record matches;
  a match is moved on by its driver, its region's administrators or a platform administrator.
"""

from django.db.models import Q

from techtransfer.core.access import NOTHING, actor_of, region_subtree_q

DRIVER_ROLES = frozenset({"scout", "commissioner", "platform_admin"})


def match_visible_q(user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin or actor.has_role("auditor"):
        return Q()
    if not actor.is_authenticated:
        return NOTHING
    return (
        Q(driven_by_id=actor.user_id) | Q(demand__organization_id__in=actor.organization_ids) | region_subtree_q(actor)
    )


def match_drivable_q(user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    if not actor.is_authenticated:
        return NOTHING
    return Q(driven_by_id=actor.user_id) | region_subtree_q(actor)


def may_drive(user, match) -> bool:
    """May ``user`` move ``match`` on (the row-level check of ``match_drivable_q``)."""
    return type(match).objects.filter(pk=match.pk).drivable_by(user).exists()


def can_record_matches(user) -> bool:
    actor = actor_of(user)
    return actor.is_authenticated and (bool(DRIVER_ROLES & actor.roles) or actor.is_region_admin)


def can_read_funnel(user) -> bool:
    """The funnel figures (per stage, scout and region) are for the people who run matchmaking."""
    actor = actor_of(user)
    return actor.is_platform_admin or actor.has_role("auditor") or actor.is_region_admin or actor.has_role("scout")
