"""Who may see or change what. Every page, API handler and export asks here, nowhere else.

Rules (issue #2):
- published records are public; drafts, submitted and returned records are visible only to their
  organization's members, their creator, the administrators of their region (and its subtree)
  and platform administrators;
- phone numbers and e-mail addresses are masked for anyone who may not edit the record;
- a region administrator manages only organizations and records in their region's subtree;
- a refused read is a 404 (``get_object_for``), a refused write raises ``AccessDenied``.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from .choices import RecordStatus


class AccessDenied(Exception):
    """A write the user may not make. Nothing has been changed when this is raised."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("您没有执行此操作的权限"))
        self.message = message or _("您没有执行此操作的权限")


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    is_authenticated: bool = False
    roles: frozenset = frozenset()
    region_paths: tuple = ()
    organization_ids: frozenset = frozenset()
    admin_organization_ids: frozenset = field(default_factory=frozenset)

    @property
    def is_platform_admin(self) -> bool:
        return "platform_admin" in self.roles

    @property
    def is_region_admin(self) -> bool:
        return bool(self.region_paths)

    @property
    def can_read_audit_log(self) -> bool:
        return self.is_platform_admin or "auditor" in self.roles

    def has_role(self, role: str) -> bool:
        return role in self.roles


ANONYMOUS = Actor(user_id=None)


def actor_of(user) -> Actor:
    """What the access rules need to know about ``user``, loaded once per user object."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_techtransfer_actor", None)
    if cached is not None:
        return cached
    assignments = list(user.role_assignments.select_related("region").all())
    roles = {a.role for a in assignments}
    if user.is_superuser:
        roles.add("platform_admin")
    memberships = list(user.memberships.values_list("organization_id", "role"))
    actor = Actor(
        user_id=user.pk,
        is_authenticated=True,
        roles=frozenset(roles),
        region_paths=tuple(sorted(a.region.path for a in assignments if a.role == "region_admin" and a.region)),
        organization_ids=frozenset(org for org, _role in memberships),
        admin_organization_ids=frozenset(org for org, role in memberships if role == "admin"),
    )
    user._techtransfer_actor = actor
    return actor


def forget_actor(user) -> None:
    """Drop the cached ``Actor`` after roles or memberships change."""
    if hasattr(user, "_techtransfer_actor"):
        del user._techtransfer_actor


NOTHING = Q(pk__in=[])


def _any(qs: list[Q]) -> Q:
    return reduce(or_, qs) if qs else NOTHING


def region_subtree_q(actor: Actor, prefix: str = "region") -> Q:
    return _any([Q(**{f"{prefix}__path__startswith": path}) for path in actor.region_paths])


def in_region_subtree(actor: Actor, region) -> bool:
    """Whether ``region`` lies in the subtree of a region ``actor`` administers (``region_subtree_q`` in Python)."""
    return region is not None and any(region.path.startswith(p) for p in actor.region_paths)


def _own_q(model, actor: Actor) -> list[Q]:
    parts = [Q(organization_id__in=actor.organization_ids), Q(created_by_id=actor.user_id)]
    if getattr(model, "OWNER_USER_FIELD", None):
        parts.append(Q(**{f"{model.OWNER_USER_FIELD}_id": actor.user_id}))
    return parts


def record_visible_q(model, user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    public = Q(status=RecordStatus.PUBLISHED)
    if not actor.is_authenticated:
        return public
    return public | _any(_own_q(model, actor)) | region_subtree_q(actor)


def record_editable_q(model, user) -> Q:
    """Records whose content ``user`` may change (the workflow state decides *when*)."""
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    if not actor.is_authenticated:
        return NOTHING
    return _any(_own_q(model, actor)) | region_subtree_q(actor)


def record_reviewable_q(model, user) -> Q:
    """Records ``user`` may approve or return: the region's administrators and the platform's."""
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    return region_subtree_q(actor)


def organization_visible_q(user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    visible = Q(is_public=True)
    if actor.is_authenticated:
        visible |= Q(pk__in=actor.organization_ids) | region_subtree_q(actor)
    return visible


def organization_manageable_q(user) -> Q:
    actor = actor_of(user)
    if actor.is_platform_admin:
        return Q()
    if not actor.is_authenticated:
        return NOTHING
    return Q(pk__in=actor.admin_organization_ids) | region_subtree_q(actor)


def can_create_record_for(user, organization) -> bool:
    """Members create for their organization; scouts bring records in for any organization."""
    actor = actor_of(user)
    if not actor.is_authenticated:
        return False
    if actor.is_platform_admin or actor.has_role("scout"):
        return True
    if organization is None:
        return False
    return organization.pk in actor.organization_ids or in_region_subtree(actor, organization.region)


def get_object_for(user, queryset_or_model, pk, *, action: str = "view"):
    """The object ``pk`` if ``user`` may ``view`` (or ``edit``) it; the same 404 otherwise."""
    manager = getattr(queryset_or_model, "objects", queryset_or_model)
    queryset = manager.all()
    model = queryset.model
    if action == "view":
        queryset = queryset.visible_to(user)
    elif action == "edit":
        queryset = queryset.editable_by(user)
    else:
        raise ValueError(action)
    try:
        return queryset.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(_("未找到该对象")) from exc


def may_edit(user, obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).editable_by(user).exists()


def mask_phone(value: str) -> str:
    """``13912345678`` → ``139****5678``; short numbers keep only their first character."""
    value = value.strip()
    if len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return value[:1] + "*" * (len(value) - 1)


def mask_email(value: str) -> str:
    if "@" not in value:
        return "*" * len(value)
    name, domain = value.split("@", 1)
    return (name[:1] + "***@" + domain) if name else "***@" + domain


def masked_value(field_name: str, value: str) -> str:
    if not value:
        return value
    return mask_email(value) if "email" in field_name else mask_phone(value)


def contact_fields_for(user, obj, *, editable: bool | None = None) -> dict:
    """The object's contact fields as ``user`` may see them (masked unless they may edit it)."""
    if editable is None:
        editable = may_edit(user, obj)
    return {
        name: (getattr(obj, name) if editable else masked_value(name, getattr(obj, name))) for name in obj.MASKED_FIELDS
    }


def can_create_organization(user, region) -> bool:
    """Platform administrators register any organization; region administrators only in their subtree."""
    actor = actor_of(user)
    return actor.is_platform_admin or in_region_subtree(actor, region)
