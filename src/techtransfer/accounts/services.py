"""Writes about accounts.

API tokens (``api_token_*``): only the SHA-256 of a key is stored, the raw key is returned once by
``api_token_issue`` and never again. Issuing and revoking each append an audit event
(``action="token"``) in the same transaction.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from techtransfer.audit.services import log_event
from techtransfer.core import access
from techtransfer.core.errors import ErrorCode, ServiceError
from techtransfer.core.services import full_clean_or_invalid

from .models import ApiToken, hash_token

# ``last_used_at`` is written at most this often per token, so a busy client costs no write per request.
TOKEN_LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
TOKEN_PREFIX_LENGTH = 10  # "tt_" and 7 characters of the key: enough to name a token, useless to guess it

SELF = object()  # the default actor of api_token_issue: the token's own user


@transaction.atomic
def api_token_issue(
    *, user, name: str, expires_at: datetime.datetime | None = None, actor=SELF, request=None
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns ``(token, raw_key)``.

    ``actor`` (who issues it) is ``user`` unless given; the server console passes None.
    """
    if not user.is_active:
        raise ServiceError(ErrorCode.INVALID, _("账号已停用，不能签发令牌"))
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError(ErrorCode.INVALID, details={"expires_at": [_("过期时间必须晚于当前时间")]})
    raw_key = ApiToken.new_raw_key()
    token = ApiToken(
        user=user,
        name=name.strip(),
        key_hash=hash_token(raw_key),
        key_prefix=raw_key[:TOKEN_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    full_clean_or_invalid(token)
    token.save()
    log_event(
        actor=user if actor is SELF else actor,
        action="token",
        target=token,
        request=request,
        summary=_("为 %(user)s 签发 API 令牌") % {"user": user.get_username()},
        changes={
            "user": [None, user.get_username()],
            "name": [None, token.name],
            "key_prefix": [None, token.key_prefix],
            "expires_at": [None, expires_at.isoformat() if expires_at else None],
        },
    )
    return token, raw_key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor, request=None) -> ApiToken:
    """Revoke ``token``. Its owner and platform administrators may; ``actor=None`` is the server console."""
    if actor is not None and actor.pk != token.user_id and not access.actor_of(actor).is_platform_admin:
        raise access.AccessDenied()
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ServiceError(ErrorCode.INVALID, _("该令牌已于 %(at)s 吊销") % {"at": _local(token.revoked_at)})
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    log_event(
        actor=actor,
        action="token",
        target=token,
        request=request,
        summary=_("吊销 API 令牌"),
        changes={"revoked_at": [None, token.revoked_at.isoformat()]},
    )
    return token


def api_token_authenticate(*, raw_key: str):
    """The active user holding the live token ``raw_key``, or None (unknown, revoked, expired, inactive user).

    One indexed read; ``last_used_at`` is refreshed with a single UPDATE at most once a minute.
    """
    if not raw_key.startswith(ApiToken.PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw_key)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _local(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
