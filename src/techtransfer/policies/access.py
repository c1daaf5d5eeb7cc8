"""Who may see or change what in 政策兑现 (built on ``core.access``; views and services ask here).

- the policy library, clauses and notices are public; platform administrators maintain them;
- an enterprise's entitlements and applications are visible to its members, to the administrators of its
  region (and the region's subtree) and to platform administrators; to anyone else they do not exist (404);
- staff (platform administrators, and region administrators for their region's organizations) confirm
  entitlements, review applications and record payments;
- the members of an organization file its applications; only platform administrators start a batch run.
"""

from django.db.models import Q

from techtransfer.core.access import NOTHING, actor_of, in_region_subtree, region_subtree_q


def can_edit_library(user) -> bool:
    return actor_of(user).is_platform_admin


def can_run_batch(user) -> bool:
    return actor_of(user).is_platform_admin


def is_policy_staff(user) -> bool:
    actor = actor_of(user)
    return actor.is_platform_admin or actor.is_region_admin


def entitlement_visible_q(user) -> Q:
    """Entitlements and applications ``user`` may see (both have an ``organization``)."""
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    if not actor.is_authenticated:
        return NOTHING
    return Q(organization_id__in=actor.organization_ids) | region_subtree_q(actor, "organization__region")


def organization_reviewable_q(user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    return region_subtree_q(actor, "organization__region")


def application_editable_q(user) -> Q:
    """Applications whose facts and materials ``user`` may change: its organization's members."""
    actor = actor_of(user)
    if not actor.is_authenticated:
        return NOTHING
    return Q(organization_id__in=actor.organization_ids)


def may_review_organization(user, organization) -> bool:
    actor = actor_of(user)
    return actor.is_platform_admin or in_region_subtree(actor, organization.region)


def may_apply_for(user, organization) -> bool:
    return organization is not None and organization.pk in actor_of(user).organization_ids
