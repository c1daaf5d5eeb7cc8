"""Writes of 政策兑现. Each runs in one transaction, checks access first and appends an audit event there,
so a refused or failed call changes nothing (``AccessDenied`` or ``ServiceError``, messages in Chinese).
"""

import datetime
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event
from techtransfer.core.access import AccessDenied, may_edit
from techtransfer.core.errors import ServiceError
from techtransfer.core.pagecache import bump_content_version
from techtransfer.core.services import diff, full_clean_or_invalid, snapshot
from techtransfer.organizations.choices import OrganizationKind
from techtransfer.organizations.models import Organization
from techtransfer.policy import Columns, CompiledClause, EntityKind, Period, RuleError, Status, default_library
from techtransfer.policy.results import as_date
from techtransfer.policy.rowwise import evaluate, evaluate_version

from . import access, engine
from .choices import ApplicationStatus, ClauseTrack, EntitlementStatus, PolicyErrorCode
from .facts import facts_for_organizations
from .fulltext import PolicyText, read_policy_text
from .models import (
    Application,
    ApplicationMaterial,
    Entitlement,
    EntitlementRun,
    Notice,
    Policy,
    PolicyClause,
)

CLAUSE_FIELDS = frozenset(
    {
        "title",
        "track",
        "entity",
        "benefit",
        "condition",
        "amount",
        "cap",
        "effective_from",
        "effective_to",
        "source_article",
        "source_quote",
        "is_active",
    }
)
NOTICE_FIELDS = frozenset({"clause", "title", "period", "opens_on", "closes_on", "body"})
STORED_RESULTS = {Status.ELIGIBLE: EntitlementStatus.ELIGIBLE, Status.MISSING: EntitlementStatus.INCOMPLETE}
DECIDED = (EntitlementStatus.CONFIRMED, EntitlementStatus.PAID)


def _refuse_unknown(fields: dict, allowed: frozenset) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(PolicyErrorCode.INVALID, _("不能设置字段：%(f)s") % {"f": "、".join(sorted(unknown))})


def _assign_stripped(obj, fields: dict) -> None:
    """Set already-allowed ``fields`` on ``obj``, text without surrounding whitespace."""
    for name, value in fields.items():
        setattr(obj, name, value.strip() if isinstance(value, str) else value)


def _rule_call(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except RuleError as exc:
        raise engine.service_error(exc) from exc


# ---------------------------------------------------------------------------------------------------------------
# The library


def _policy_fields(p) -> dict:
    return {
        "title": p.title,
        "document_number": p.source.number,
        "issuer": p.source.issuer,
        "level": p.level.value,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "summary": p.summary,
    }


@transaction.atomic
def library_sync(*, actor=None, request=None) -> dict:
    """Rows for the shipped library's policies and clauses that have none yet (staff edits are kept)."""
    library = default_library()
    created = Counter()
    policies = {}
    for pid, p in library.policies.items():
        policy = Policy.objects.filter(engine_id=pid).first()
        if policy is None:
            policy = Policy(engine_id=pid, **_policy_fields(p))
            full_clean_or_invalid(policy)
            policy.save()
            log_event(actor=actor, action="create", target=policy, request=request, summary=_("从规则库导入政策"))
            created["policies"] += 1
        policies[pid] = policy
    for cid, c in library.clauses.items():
        if PolicyClause.objects.filter(clause_id=cid).exists():
            continue
        first = c.versions[0]
        clause = PolicyClause(
            policy=policies[c.policy_id],
            clause_id=cid,
            title=c.title,
            track=c.track.value,
            entity=c.entity.value,
            benefit=c.benefit[:200],
            source_article=first.source.article[:200],
            source_quote=first.source.quote,
        )
        full_clean_or_invalid(clause)
        clause.save()
        log_event(actor=actor, action="create", target=clause, request=request, summary=_("从规则库导入条款"))
        created["clauses"] += 1
    if created:
        bump_content_version()  # the public policy library is served from the anonymous page cache
    return dict(created)


@transaction.atomic
def clause_save(
    *, actor, policy: Policy, fields: dict, clause: PolicyClause | None = None, clause_id: str = "", request=None
) -> PolicyClause:
    """Add or change a clause. Its condition and formulas are checked by the engine before anything is saved."""
    if not access.can_edit_library(actor):
        raise AccessDenied()
    _refuse_unknown(fields, CLAUSE_FIELDS)
    if clause is None:
        obj = PolicyClause(policy=policy, clause_id=clause_id.strip(), created_by=actor)
        before = {}
    else:
        obj = PolicyClause.objects.select_for_update().get(pk=clause.pk)
        before = snapshot(obj)
    _assign_stripped(obj, fields)
    full_clean_or_invalid(obj)
    engine.validate(obj)
    obj.save()
    bump_content_version()
    changes = diff(before, snapshot(obj))
    log_event(actor=actor, action="update" if before else "create", target=obj, request=request, changes=changes)
    return obj


@transaction.atomic
def notice_create(*, actor, policy: Policy, fields: dict, request=None) -> Notice:
    if not access.can_edit_library(actor):
        raise AccessDenied()
    _refuse_unknown(fields, NOTICE_FIELDS)
    notice = Notice(policy=policy, **fields)
    full_clean_or_invalid(notice)
    if notice.clause.policy_id != policy.pk:
        raise ServiceError(PolicyErrorCode.INVALID, details={"clause": [_("申报条款须属于本政策")]})
    notice.save()
    bump_content_version()
    log_event(actor=actor, action="create", target=notice, request=request, changes=diff({}, snapshot(notice)))
    return notice


POLICY_FIELDS = frozenset(
    {
        "title",
        "document_number",
        "issuer",
        "level",
        "valid_from",
        "valid_to",
        "summary",
        "full_text",
        "guide_target",
        "guide_conditions",
        "guide_materials",
        "guide_time_limit",
        "guide_department",
        "guide_phone",
    }
)


@transaction.atomic
def policy_save(*, actor, fields: dict, policy: Policy | None = None, engine_id: str = "", request=None) -> Policy:
    """Add a policy or change its own fields and application guide; its clauses must still pass the engine."""
    if not access.can_edit_library(actor):
        raise AccessDenied()
    _refuse_unknown(fields, POLICY_FIELDS)
    if policy is None:
        engine_id = engine_id.strip()
        if engine_id in default_library().policies:
            raise ServiceError(
                PolicyErrorCode.INVALID,
                details={"engine_id": [_("“%(id)s”是随平台发布的规则库中的政策编号，请换一个") % {"id": engine_id}]},
            )
        obj = Policy(engine_id=engine_id)
        before = {}
    else:
        obj = Policy.objects.select_for_update().get(pk=policy.pk)
        before = snapshot(obj)
    _assign_stripped(obj, fields)
    if obj.valid_from and obj.valid_to and obj.valid_to < obj.valid_from:
        raise ServiceError(PolicyErrorCode.INVALID, details={"valid_to": [_("失效日期不能早于生效日期")]})
    full_clean_or_invalid(obj)
    changes = diff(before, snapshot(obj))
    if before and not changes:
        return obj
    obj.save()
    try:  # staff-written clauses must lie within the policy's validity: check them against the new dates
        engine.build_library()
    except ServiceError as exc:
        message = _("修改后本政策的条款不能通过规则校验：%(m)s") % {"m": exc.message}
        raise ServiceError(exc.code, message, {"__all__": [message]}) from exc
    bump_content_version()
    log_event(actor=actor, action="update" if before else "create", target=obj, request=request, changes=changes)
    return obj


@dataclass(frozen=True)
class TextImportReport:
    policy: Policy
    text: PolicyText
    dry_run: bool
    changed: bool

    def summary(self) -> str:
        """The import report in one line: what was read, and how many paragraphs and characters were kept."""
        t = self.text
        if self.dry_run:
            head = _("预览（未保存）")
        else:
            head = _("已导入") if self.changed else _("与现有全文相同，未改动")
        line = _("%(h)s：%(f)s（%(e)s，%(b)s 字节，%(r)s 个字符），规范化后保留 %(p)s 段、%(c)s 个字符") % {
            "h": head,
            "f": t.filename,
            "e": t.encoding,
            "b": t.size,
            "r": t.source_characters,
            "p": len(t.paragraphs),
            "c": t.characters,
        }
        if t.mangled:
            line += _("；有 %(n)s 处疑似乱码，未作修复，请与原件核对：%(x)s") % {
                "n": len(t.mangled),
                "x": "；".join(f"“{m}”" for m in t.mangled[:3]),
            }
        return line


@transaction.atomic
def policy_text_import(
    *, actor, policy: Policy, data: bytes, filename: str, dry_run: bool = False, request=None
) -> TextImportReport:
    """Store a file's text, normalized like the matching pipeline, as the policy's full text (audited).

    A file that is not text, too large or empty is refused before anything is written; ``dry_run`` only reports.
    """
    if not access.can_edit_library(actor):
        raise AccessDenied()
    text = read_policy_text(data, filename)
    obj = Policy.objects.select_for_update().get(pk=policy.pk)
    changed = obj.full_text != text.text
    if dry_run or not changed:
        return TextImportReport(policy=obj, text=text, dry_run=dry_run, changed=False)
    before = snapshot(obj)
    obj.full_text = text.text
    full_clean_or_invalid(obj)
    obj.save(update_fields=["full_text", "updated_at"])
    bump_content_version()
    report = TextImportReport(policy=obj, text=text, dry_run=False, changed=True)
    log_event(
        actor=actor,
        action="update",
        target=obj,
        request=request,
        changes=diff(before, snapshot(obj)),
        summary=_("导入政策原文：%(f)s，%(p)s 段、%(c)s 字")
        % {"f": text.filename, "p": len(text.paragraphs), "c": text.characters},
    )
    return report


# ---------------------------------------------------------------------------------------------------------------
# 政策找企业


@transaction.atomic
def entitlement_batch_run(*, actor, period, applied_on, request=None) -> EntitlementRun:
    """Every enterprise against every active enterprise clause in force on ``applied_on``, with the batch path.

    The stored entitlements (符合 and 缺少事实, each with its row-wise trace) replace the period's previous run;
    those already confirmed or paid are decisions and are kept as they are. All or nothing.
    """
    if not access.can_run_batch(actor):
        raise AccessDenied()
    period = _rule_call(Period.of, period).year
    applied_on = _rule_call(as_date, applied_on)
    library = engine.current_library()
    active = {c.clause_id: c for c in PolicyClause.objects.filter(is_active=True, entity=EntityKind.ENTERPRISE)}
    in_force = [
        (clause, version)
        for clause, version in library.clauses_in_force(applied_on, entity=EntityKind.ENTERPRISE)
        if clause.id in active
    ]
    org_ids = list(
        Organization.objects.filter(kind=OrganizationKind.ENTERPRISE).order_by("pk").values_list("pk", flat=True)
    )
    facts = facts_for_organizations(org_ids, period)
    records = [facts[pk] for pk in org_ids]
    columns = _rule_call(Columns.from_records, library.catalogue, records)

    decided = set(
        Entitlement.objects.filter(period=period, status__in=DECIDED).values_list("organization_id", "clause_id")
    )
    Entitlement.objects.filter(period=period).exclude(status__in=DECIDED).delete()
    run = EntitlementRun.objects.create(
        period=period,
        applied_on=applied_on,
        library_digest=library.digest,
        enterprises=len(org_ids),
        clauses=[clause.id for clause, _v in in_force],
        actor=actor,
    )
    by_clause = {}
    rows = []
    for clause, version in in_force:
        db_clause = active[clause.id]
        batch = CompiledClause(library, clause, version).evaluate(columns, period=period, applied_on=applied_on)
        by_clause[clause.id] = batch.counts()
        for i in (i for i, s in enumerate(batch.status) if Status(int(s)) in STORED_RESULTS):
            org_id = org_ids[i]
            if (org_id, db_clause.pk) in decided:
                continue
            # The trace comes from the row-wise path; both paths must agree (the engine tests that too).
            result = evaluate_version(library, clause, version, records[i], period=period, applied_on=applied_on)
            status, amount, _outputs = batch.result(i)
            if result.status is not status or result.amount != amount:
                raise RuntimeError(f"批量与逐行评价结果不一致：{clause.id} 第 {i} 行")
            rows.append(
                Entitlement(
                    run=run,
                    organization_id=org_id,
                    clause=db_clause,
                    period=period,
                    applied_on=applied_on,
                    result=result.status.code,
                    amount=result.amount,
                    missing=result.missing,
                    trace=result.trace,
                    rule_version=result.trace["rule_version"],
                    status=STORED_RESULTS[result.status],
                )
            )
    Entitlement.objects.bulk_create(rows, batch_size=500)
    run.counts = {"by_clause": by_clause, "stored": len(rows), "kept": len(decided)}
    run.save(update_fields=["counts"])
    log_event(
        actor=actor,
        action="create",
        target=run,
        request=request,
        changes={"counts": run.counts, "clauses": run.clauses},
        summary=_("政策匹配：%(n)s 家企业、%(c)s 个条款，保存 %(s)s 条结果")
        % {"n": len(org_ids), "c": len(in_force), "s": len(rows)},
    )
    return run


def _transition(obj, *, actor, to_status: str, request=None, comment: str = "", fields=(), summary: str = ""):
    before = obj.status
    obj.status = to_status
    obj.save(update_fields=["status", *fields])
    log_event(
        actor=actor,
        action="transition",
        target=obj,
        request=request,
        from_status=before,
        to_status=to_status,
        comment=comment,
        summary=summary,
    )


def _locked_visible(model, obj, actor):
    """``obj`` locked for update, or the 404 a user gets for what they may not see."""
    found = model.objects.select_for_update(of=("self",)).filter(pk=obj.pk).visible_to(actor).first()
    if found is None:
        raise Http404(_("未找到该对象"))
    return found


@transaction.atomic
def entitlement_confirm(*, actor, entitlement: Entitlement, request=None) -> Entitlement:
    """Staff confirm a 免申即享 entitlement: it becomes payable, with no application."""
    obj = _locked_visible(Entitlement, entitlement, actor)
    if not access.may_review_organization(actor, obj.organization):
        raise AccessDenied()
    if obj.clause.track != ClauseTrack.EXEMPT:
        raise ServiceError(
            PolicyErrorCode.BAD_STATE, _("“%(t)s”须由企业申报，不能直接确认") % {"t": obj.clause.get_track_display()}
        )
    if obj.status != EntitlementStatus.ELIGIBLE:
        raise ServiceError(
            PolicyErrorCode.BAD_STATE,
            _("当前状态“%(s)s”不能确认") % {"s": EntitlementStatus(obj.status).label},
        )
    obj.confirmed_by = actor
    obj.confirmed_at = timezone.now()
    _transition(
        obj,
        actor=actor,
        to_status=EntitlementStatus.CONFIRMED,
        request=request,
        fields=("confirmed_by", "confirmed_at"),
    )
    return obj


@transaction.atomic
def payment_record(
    *, actor, reference: str, entitlements=(), applications=(), request=None
) -> tuple[list[Entitlement], list[Application]]:
    """Mark confirmed entitlements and approved applications as paid: all of them or none (rows locked)."""
    reference = (reference or "").strip()
    if not reference:
        raise ServiceError(PolicyErrorCode.INVALID, details={"reference": [_("请填写拨付凭证号")]})
    if not entitlements and not applications:
        raise ServiceError(PolicyErrorCode.INVALID, _("没有选择要登记拨付的事项"))
    locked_e = [_locked_visible(Entitlement, e, actor) for e in sorted(entitlements, key=lambda o: o.pk)]
    locked_a = [_locked_visible(Application, a, actor) for a in sorted(applications, key=lambda o: o.pk)]
    for obj in [*locked_e, *locked_a]:
        if not access.may_review_organization(actor, obj.organization):
            raise AccessDenied()
    for obj in locked_e:
        if obj.status != EntitlementStatus.CONFIRMED:
            raise ServiceError(
                PolicyErrorCode.BAD_STATE,
                _("%(o)s：当前状态“%(s)s”不能登记拨付（须先确认）")
                % {"o": obj, "s": EntitlementStatus(obj.status).label},
            )
    for obj in locked_a:
        if obj.status != ApplicationStatus.APPROVED:
            raise ServiceError(
                PolicyErrorCode.BAD_STATE,
                _("%(o)s：当前状态“%(s)s”不能登记拨付（须先批准）")
                % {"o": obj, "s": ApplicationStatus(obj.status).label},
            )
    now = timezone.now()
    for obj, status in [
        *((e, EntitlementStatus.PAID) for e in locked_e),
        *((a, ApplicationStatus.PAID) for a in locked_a),
    ]:
        obj.paid_at = now
        obj.payment_reference = reference[:100]
        _transition(
            obj,
            actor=actor,
            to_status=status,
            request=request,
            fields=("paid_at", "payment_reference"),
            summary=_("登记拨付 %(a)s 元，凭证 %(r)s") % {"a": obj.amount, "r": reference},
        )
    return locked_e, locked_a


# ---------------------------------------------------------------------------------------------------------------
# Applications


def _checked_facts(facts) -> dict:
    """Facts as the engine's catalogue accepts them (bad ones refused in Chinese), stored JSON-safe."""
    try:
        checked = default_library().catalogue.coerce(facts if isinstance(facts, dict) else None)
    except RuleError as exc:  # details keyed by fact name, as the form and the API name them
        raise ServiceError(PolicyErrorCode.INVALID, exc.message, exc.details or {"facts": [exc.message]}) from exc
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in checked.items() if v is not None}


@transaction.atomic
def application_create(*, actor, notice: Notice, organization, facts: dict, request=None) -> Application:
    if not access.may_apply_for(actor, organization):
        raise AccessDenied(_("只有本单位成员可以为本单位申报"))
    if Application.objects.filter(organization=organization, notice=notice).exists():
        raise ServiceError(PolicyErrorCode.DUPLICATE, _("本单位已有该通知的申报，请在原申报上修改"))
    app = Application(
        organization=organization,
        notice=notice,
        clause=notice.clause,
        period=notice.period,
        facts=_checked_facts(facts),
        created_by=actor,
    )
    full_clean_or_invalid(app)
    app.save()
    log_event(actor=actor, action="create", target=app, request=request, to_status=app.status)
    return app


def _editable(application, actor) -> Application:
    obj = _locked_visible(Application, application, actor)
    if not may_edit(actor, obj):
        raise AccessDenied()
    if obj.status not in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        raise ServiceError(
            PolicyErrorCode.BAD_STATE, _("当前状态“%(s)s”不能修改") % {"s": ApplicationStatus(obj.status).label}
        )
    return obj


@transaction.atomic
def application_update(*, actor, application: Application, facts: dict, request=None) -> Application:
    obj = _editable(application, actor)
    before = snapshot(obj)
    obj.facts = _checked_facts(facts)
    changes = diff(before, snapshot(obj))
    if changes:
        obj.save(update_fields=["facts", "updated_at"])
        log_event(actor=actor, action="update", target=obj, request=request, changes=changes)
    return obj


@transaction.atomic
def application_material_add(*, actor, application: Application, name: str, file, request=None) -> ApplicationMaterial:
    obj = _editable(application, actor)
    material = ApplicationMaterial(application=obj, name=(name or "").strip(), file=file, uploaded_by=actor)
    full_clean_or_invalid(material)
    material.save()
    log_event(
        actor=actor, action="update", target=obj, request=request, summary=_("上传材料：%(n)s") % {"n": material.name}
    )
    return material


def _today(today) -> datetime.date:
    return today or timezone.localdate()


@transaction.atomic
def application_submit(
    *, actor, application: Application, today: datetime.date | None = None, request=None
) -> Application:
    """Submit (or resubmit after a return) while the notice is open; after its closing date it is refused."""
    obj = _editable(application, actor)
    today = _today(today)
    notice = obj.notice
    if today > notice.closes_on:
        raise ServiceError(
            PolicyErrorCode.NOTICE_CLOSED,
            _("申报已于 %(d)s 截止，不能再提交（通知：%(t)s）")
            % {"d": notice.closes_on.isoformat(), "t": notice.title},
        )
    if today < notice.opens_on:
        raise ServiceError(
            PolicyErrorCode.NOTICE_NOT_OPEN,
            _("申报将于 %(d)s 开始，目前还不能提交") % {"d": notice.opens_on.isoformat()},
        )
    uploaded = set(obj.materials.values_list("name", flat=True))
    missing = [m for m in notice.policy.materials if m not in uploaded]
    if missing:
        raise ServiceError(
            PolicyErrorCode.INVALID, _("缺少申报材料：%(m)s") % {"m": "、".join(missing)}, {"materials": missing}
        )
    obj.submitted_at = timezone.now()
    obj.applied_on = today
    _transition(
        obj, actor=actor, to_status=ApplicationStatus.SUBMITTED, request=request, fields=("submitted_at", "applied_on")
    )
    return obj


def application_evaluate(application: Application):
    """The engine's decision on the application's facts: its period, the rules in force on its submission date."""
    applied_on = application.applied_on or timezone.localdate()
    library = engine.current_library()
    return _rule_call(
        evaluate,
        library,
        application.clause.clause_id,
        application.facts,
        period=application.period,
        applied_on=applied_on,
    )


@transaction.atomic
def application_review(
    *, actor, application: Application, decision: str, comment: str = "", request=None
) -> Application:
    """Staff approve (the engine must find it eligible; its trace and rule version are stored) or return it."""
    obj = _locked_visible(Application, application, actor)
    if not access.may_review_organization(actor, obj.organization):
        raise AccessDenied()
    if obj.status != ApplicationStatus.SUBMITTED:
        raise ServiceError(
            PolicyErrorCode.BAD_STATE, _("当前状态“%(s)s”不能审核") % {"s": ApplicationStatus(obj.status).label}
        )
    comment = (comment or "").strip()
    if decision == "return":
        if not comment:
            raise ServiceError(PolicyErrorCode.COMMENT_REQUIRED, details={"comment": [_("退回时必须填写审核意见")]})
        obj.review_comment = comment
        obj.decided_by, obj.decided_at = actor, timezone.now()
        _transition(
            obj,
            actor=actor,
            to_status=ApplicationStatus.RETURNED,
            request=request,
            comment=comment,
            fields=("review_comment", "decided_by", "decided_at"),
        )
        return obj
    if decision != "approve":
        raise ServiceError(PolicyErrorCode.INVALID, _("未知的审核决定：%(d)s") % {"d": decision})
    result = application_evaluate(obj)
    if result.status is not Status.ELIGIBLE:
        raise ServiceError(
            PolicyErrorCode.NOT_ELIGIBLE,
            _("按规则评价为“%(s)s”，不能批准：%(e)s") % {"s": result.status.label, "e": result.explain()},
        )
    obj.result = result.status.code
    obj.amount = result.amount
    obj.trace = result.trace
    obj.rule_version = result.trace["rule_version"]
    obj.review_comment = comment
    obj.decided_by, obj.decided_at = actor, timezone.now()
    _transition(
        obj,
        actor=actor,
        to_status=ApplicationStatus.APPROVED,
        request=request,
        comment=comment,
        fields=("result", "amount", "trace", "rule_version", "review_comment", "decided_by", "decided_at"),
        summary=_("批准，核定 %(a)s 元") % {"a": result.amount},
    )
    return obj
