from django.contrib.contenttypes.models import ContentType

from .models import Event


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def log_event(
    *,
    actor,
    action: str,
    target=None,
    request=None,
    from_status: str = "",
    to_status: str = "",
    changes: dict | None = None,
    comment: str = "",
    summary: str = "",
) -> Event:
    """Append one audit event. Call it inside the transaction of the write it records."""
    actor_user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return Event.objects.create(
        actor=actor_user,
        actor_name=actor_user.get_username() if actor_user else "",
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        from_status=from_status,
        to_status=to_status,
        changes=changes or {},
        comment=comment,
        summary=summary[:255],
        ip_address=client_ip(request),
    )
