"""Writes on organizations. Each runs in one transaction, checks access first and appends an audit event."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event
from techtransfer.core import access
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.services import diff, snapshot, validation_messages

from . import credit_code
from .models import Organization

# Never copied from user input: bookkeeping owns them.
PROTECTED_FIELDS = frozenset({"id", "created_by", "created_at", "updated_at"})


@transaction.atomic
def organization_create(*, actor, fields: dict, request=None) -> Organization:
    """Register an organization: platform administrators anywhere, region administrators in their region only.

    The unified social credit code (统一社会信用代码) is checked against GB 32100 (``credit_code``); names and
    credit codes are unique.
    """
    if not access.can_create_organization(actor, fields.get("region")):
        raise access.AccessDenied()
    names = {f.name for f in Organization._meta.concrete_fields}
    organization = Organization(created_by=actor)
    for name, value in fields.items():
        if name in PROTECTED_FIELDS or name not in names:
            raise ServiceError(ErrorCode.INVALID, _("不能设置字段：%(f)s") % {"f": name})
        setattr(organization, name, value)
    code = (organization.credit_code or "").strip().upper()
    organization.credit_code = code or None
    if code:
        problem = credit_code.problem(code)
        if problem:
            raise ServiceError(ErrorCode.INVALID, details={"credit_code": [problem]})
    try:
        organization.full_clean()
    except ValidationError as exc:
        raise ServiceError(ErrorCode.INVALID, details=validation_messages(exc)) from exc
    organization.save()
    log_event(
        actor=actor,
        action="create",
        target=organization,
        request=request,
        changes=diff({}, snapshot(organization)),
    )
    return organization
