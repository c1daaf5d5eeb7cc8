"""Logins and failed logins go to the audit log. Django only tells us through these signals."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from techtransfer.audit.services import log_event


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    log_event(actor=user, action="login", target=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        log_event(actor=user, action="logout", target=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    log_event(
        actor=None,
        action="login_failed",
        target=None,
        request=request,
        summary=str(credentials.get("username", ""))[:150],
    )
