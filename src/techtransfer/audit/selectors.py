from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from techtransfer.core.access import actor_of

from .models import Event


def event_timeline(*, target):
    """The events of one object, oldest first, for its page."""
    return (
        Event.objects.filter(target_type=ContentType.objects.get_for_model(target), target_id=str(target.pk))
        .select_related("actor")
        .order_by("at", "id")
    )


def event_search(*, user, q: str = "", action: str = "", actor: str = "", date_from=None, date_to=None):
    """The audit log for auditors and platform administrators; nobody else sees it."""
    if not actor_of(user).can_read_audit_log:
        return Event.objects.none()
    events = Event.objects.all()
    if q:
        events = events.filter(Q(target_repr__icontains=q) | Q(summary__icontains=q) | Q(comment__icontains=q))
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_name__icontains=actor)
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return events.order_by("-at", "-id")
