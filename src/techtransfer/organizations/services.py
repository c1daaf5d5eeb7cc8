"""Writes on organizations. Each runs in one transaction, checks access first and appends an audit event.

A refused write raises ``core.access.AccessDenied`` and a rejected one ``core.errors.ServiceError``;
either way nothing has changed. An update bumps the content version, so the cached public pages
(the organization list and pages, and the records that name an organization) refresh.
"""

from django.db import transaction

from techtransfer.audit.services import log_event
from techtransfer.core import access
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.pagecache import bump_content_version
from techtransfer.core.services import assign_fields, diff, full_clean_or_invalid, snapshot

from . import credit_code
from .models import Organization

# Never copied from user input: bookkeeping owns them.
PROTECTED_FIELDS = frozenset({"id", "created_by", "created_at", "updated_at"})


def _check(organization: Organization) -> None:
    """Normalize the credit code (upper case, blank → NULL), check it against GB 32100, then ``full_clean``."""
    code = (organization.credit_code or "").strip().upper()
    organization.credit_code = code or None
    if code:
        problem = credit_code.problem(code)
        if problem:
            raise ServiceError(ErrorCode.INVALID, details={"credit_code": [problem]})
    full_clean_or_invalid(organization)


@transaction.atomic
def organization_create(*, actor, fields: dict, request=None) -> Organization:
    """Register an organization: platform administrators anywhere, region administrators in their region only.

    The unified social credit code (统一社会信用代码) is checked against GB 32100 (``credit_code``); names and
    credit codes are unique.
    """
    if not access.can_create_organization(actor, fields.get("region")):
        raise access.AccessDenied()
    organization = Organization(created_by=actor)
    assign_fields(organization, fields, protected=PROTECTED_FIELDS)
    _check(organization)
    organization.save()
    bump_content_version()  # the public organization list and the home page's count
    log_event(
        actor=actor,
        action="create",
        target=organization,
        request=request,
        changes=diff({}, snapshot(organization)),
    )
    return organization


@transaction.atomic
def organization_update(*, actor, organization: Organization, fields: dict, request=None) -> Organization:
    """Change an organization's fields; return it as saved.

    Who may (``access.organization_manageable_q``): platform administrators, the administrators of a
    region for organizations in its subtree, and an organization's own administrators. Moving it to
    another region also needs the right to register organizations there, as for a new one: so an
    organization's administrators cannot move it, and a region administrator cannot hand it to a
    region outside their own.

    The credit code is checked as in ``organization_create``. Only changed columns are saved, and a
    call that changes nothing writes nothing (no audit event); otherwise one ``update`` event records
    each changed field as ``[before, after]``.
    """
    if organization.pk is None or not Organization.objects.filter(pk=organization.pk).manageable_by(actor).exists():
        raise access.AccessDenied()
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = snapshot(organization)
    assign_fields(organization, fields, protected=PROTECTED_FIELDS)
    if organization.region_id != before["region"] and not access.can_create_organization(actor, organization.region):
        raise access.AccessDenied()
    _check(organization)
    changes = diff(before, snapshot(organization))
    if changes:
        organization.save(update_fields=[*changes, "updated_at"])
        bump_content_version()
        log_event(actor=actor, action="update", target=organization, request=request, changes=changes)
    return organization
