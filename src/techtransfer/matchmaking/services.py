"""Writes of the matchmaking funnel. Each runs in one transaction, checks access first, and appends a
``MatchEvent`` (who, when, from → to, note) and an audit event in the same transaction."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event
from techtransfer.core.access import AccessDenied, get_object_for
from techtransfer.core.choices import RecordStatus
from techtransfer.core.errors import ServiceError
from techtransfer.core.services import full_clean_or_invalid

from . import access
from .choices import NEXT_STAGES, RANK, MatchErrorCode, MatchStage
from .models import Match, MatchEvent

COUNTERPART_FIELDS_BY_MODEL = {
    "achievements.Achievement": "achievement",
    "experts.Expert": "expert",
    "instruments.Instrument": "instrument",
}


@transaction.atomic
def match_create(*, actor, demand, counterpart, notes: str = "", score: float | None = None, request=None) -> Match:
    """Record that ``counterpart`` (an achievement, expert or instrument) was recommended for ``demand``.

    The actor must be allowed to drive matches and to see both records; both must be published. Both are
    read here under the actor's access (a 404 if hidden), so callers may pass unsaved references (``Model(pk=…)``).
    """
    if not access.can_record_matches(actor):
        raise AccessDenied()
    demand = get_object_for(actor, type(demand), demand.pk)
    counterpart = get_object_for(actor, type(counterpart), counterpart.pk)
    field = COUNTERPART_FIELDS_BY_MODEL.get(type(counterpart)._meta.label)
    if field is None:
        raise ServiceError(MatchErrorCode.INVALID, _("只能为需求对接科技成果、专家或大型仪器"))
    if demand.status != RecordStatus.PUBLISHED or counterpart.status != RecordStatus.PUBLISHED:
        raise ServiceError(MatchErrorCode.INVALID, _("只有已发布的需求和资源才能登记对接"))
    if Match.objects.filter(demand=demand, **{field: counterpart}).exists():
        raise ServiceError(MatchErrorCode.DUPLICATE)
    match = Match(
        demand=demand,
        driven_by=actor,
        region_id=demand.region_id,
        notes=notes.strip(),
        score=score,
        **{field: counterpart},
    )
    full_clean_or_invalid(match)
    try:
        with transaction.atomic():
            match.save()
    except IntegrityError as exc:  # a concurrent identical match
        raise ServiceError(MatchErrorCode.DUPLICATE) from exc
    MatchEvent.objects.create(match=match, actor=actor, from_stage="", to_stage=match.stage, note=match.notes)
    log_event(actor=actor, action="create", target=match, request=request, to_status=match.stage, comment=match.notes)
    return match


@transaction.atomic
def match_advance(*, actor, match: Match, to_stage: str, note: str = "", request=None) -> Match:
    """Move ``match`` one step on (or drop it), with a note; one ``MatchEvent`` per change.

    ``match`` is re-read and locked under the actor's access (a 404 if hidden); a reference ``Match(pk=…)`` will do.
    """
    match = get_object_for(actor, Match.objects.select_for_update(of=("self",)), match.pk)
    if not access.may_drive(actor, match):
        raise AccessDenied()
    try:
        to_stage = MatchStage(to_stage)
    except ValueError as exc:
        raise ServiceError(MatchErrorCode.BAD_STAGE) from exc
    from_stage = MatchStage(match.stage)
    if to_stage not in NEXT_STAGES[from_stage]:
        raise ServiceError(
            MatchErrorCode.BAD_STAGE,
            _("“%(f)s”之后不能转到“%(t)s”") % {"f": from_stage.label, "t": to_stage.label},
        )
    note = note.strip()
    match.stage = to_stage
    update_fields = ["stage", "updated_at"]
    if to_stage in RANK and RANK[to_stage] > RANK[MatchStage(match.furthest_stage)]:
        match.furthest_stage = to_stage
        update_fields.append("furthest_stage")
    if note:
        match.notes = f"{match.notes}\n{note}".strip()
        update_fields.append("notes")
    match.save(update_fields=update_fields)
    MatchEvent.objects.create(match=match, actor=actor, from_stage=from_stage, to_stage=to_stage, note=note)
    log_event(
        actor=actor,
        action="transition",
        target=match,
        request=request,
        from_status=from_stage,
        to_status=to_stage,
        comment=note,
        summary=str(to_stage.label),
    )
    return match
