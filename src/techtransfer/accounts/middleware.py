import time

from django.conf import settings
from django.contrib.auth import logout


class IdleSessionTimeoutMiddleware:
    """Log out a session idle for longer than ``IDLE_TIMEOUT_SECONDS`` (server-side, not only the cookie)."""

    KEY = "last_activity"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.KEY)
            if last is not None and now - int(last) > settings.IDLE_TIMEOUT_SECONDS:
                logout(request)
            else:
                request.session[self.KEY] = now
        return self.get_response(request)
