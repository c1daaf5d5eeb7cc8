"""Writes shared by every registry: create, update and workflow transitions.

Each runs in one transaction, checks access first, validates with ``full_clean`` and appends an
audit event in the same transaction, so a refused or failed call changes nothing.
"""

import datetime
import decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event

from . import access
from .choices import RecordStatus
from .errors import ErrorCode, ServiceError
from .pagecache import bump_content_version
from .workflow import EDITABLE_STATES, TRANSITIONS, available_actions

# Never copied from user input: the workflow and bookkeeping own them.
PROTECTED_FIELDS = frozenset(
    {"id", "status", "created_by", "created_at", "updated_at", "published_at", "review_comment"}
)


def json_value(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def snapshot(obj) -> dict:
    """The concrete field values of ``obj`` (foreign keys as ids), JSON-safe."""
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in {"created_at", "updated_at"}:
            continue
        data[f.name] = json_value(getattr(obj, f.attname))
    return data


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def validation_messages(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def full_clean_or_invalid(obj) -> None:
    """``obj.full_clean()``, its errors raised as a ``ServiceError`` (``invalid``) with per-field messages."""
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ServiceError(ErrorCode.INVALID, details=validation_messages(exc)) from exc


def assign_fields(obj, fields: dict, *, protected: frozenset = PROTECTED_FIELDS) -> None:
    """Set ``fields`` on ``obj``; a protected or unknown field name is a ``ServiceError``."""
    names = {f.name for f in obj._meta.concrete_fields}
    for name, value in fields.items():
        if name in protected or name not in names:
            raise ServiceError(ErrorCode.INVALID, _("不能设置字段：%(f)s") % {"f": name})
        setattr(obj, name, value)


@transaction.atomic
def record_create(*, model, actor, fields: dict, request=None):
    organization = fields.get("organization")
    if not access.can_create_record_for(actor, organization):
        raise access.AccessDenied()
    obj = model(created_by=actor)
    assign_fields(obj, fields)
    if obj.region_id is None and organization is not None and organization.region_id is not None:
        obj.region_id = organization.region_id
    # A scout who brings a record in is credited with it (the plan's 科技情报员 are rated on this).
    if (
        "scout" in {f.name for f in model._meta.fields}
        and obj.scout_id is None
        and access.actor_of(actor).has_role("scout")
    ):
        obj.scout = actor
    full_clean_or_invalid(obj)
    obj.save()
    bump_content_version()
    log_event(
        actor=actor,
        action="create",
        target=obj,
        request=request,
        to_status=obj.status,
        changes=diff({}, snapshot(obj)),
    )
    return obj


def refresh_index_on_commit(obj, *, was_published: bool) -> None:
    """What matching finds changes when a record is published, withdrawn or edited while published: once the
    transaction commits, ``matchmaking.indexing`` refreshes its index (it ignores kinds it does not index)."""
    if was_published or obj.status == RecordStatus.PUBLISHED:
        from techtransfer.matchmaking.indexing import schedule_refresh  # matchmaking builds on core, not back

        transaction.on_commit(partial(schedule_refresh, type(obj)), robust=True)


def _locked(obj):
    return type(obj).objects.select_for_update().get(pk=obj.pk)


@transaction.atomic
def record_update(*, obj, actor, fields: dict, request=None):
    if not access.may_edit(actor, obj):
        raise access.AccessDenied()
    obj = _locked(obj)
    if obj.status not in EDITABLE_STATES:
        raise ServiceError(ErrorCode.NOT_EDITABLE)
    before = snapshot(obj)
    assign_fields(obj, fields)
    # Handing a record to another organization needs the right to create records for it.
    if obj.organization_id != before["organization"] and not access.can_create_record_for(actor, obj.organization):
        raise access.AccessDenied()
    full_clean_or_invalid(obj)
    changes = diff(before, snapshot(obj))
    if changes:
        obj.save(update_fields=[*changes, "updated_at"])
        bump_content_version()
        log_event(actor=actor, action="update", target=obj, request=request, changes=changes)
        refresh_index_on_commit(obj, was_published=False)  # only if EDITABLE_STATES ever admits published
    return obj


def actions_for(user, obj, *, is_editor: bool | None = None) -> list[str]:
    """The workflow actions ``user`` may take on ``obj`` now (``is_editor``: ``access.may_edit``, if known)."""
    manager = type(obj).objects.filter(pk=obj.pk)
    if is_editor is None:
        is_editor = manager.editable_by(user).exists()
    return available_actions(
        status=obj.status,
        is_editor=is_editor,
        is_reviewer=manager.reviewable_by(user).exists(),
    )


@transaction.atomic
def record_transition(*, obj, actor, action: str, comment: str = "", request=None):
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ServiceError(ErrorCode.BAD_TRANSITION, _("未知操作：%(a)s") % {"a": action})
    obj = _locked(obj)
    if action not in actions_for(actor, obj):
        if obj.status not in transition.sources:
            raise ServiceError(
                ErrorCode.BAD_TRANSITION,
                _("当前状态“%(s)s”不允许“%(a)s”") % {"s": RecordStatus(obj.status).label, "a": transition.action.label},
            )
        raise access.AccessDenied()
    comment = comment.strip()
    if transition.needs_comment and not comment:
        raise ServiceError(ErrorCode.COMMENT_REQUIRED)
    from_status = obj.status
    obj.status = transition.target
    update_fields = ["status", "updated_at"]
    if transition.by != "editor":
        obj.review_comment = comment
        update_fields.append("review_comment")
    if transition.target == RecordStatus.PUBLISHED:
        obj.published_at = timezone.now()
        update_fields.append("published_at")
    obj.save(update_fields=update_fields)
    bump_content_version()
    log_event(
        actor=actor,
        action="transition",
        target=obj,
        request=request,
        from_status=from_status,
        to_status=obj.status,
        comment=comment,
        summary=str(transition.action.label),
    )
    refresh_index_on_commit(obj, was_published=from_status == RecordStatus.PUBLISHED)
    return obj
