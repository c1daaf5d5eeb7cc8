import time

from django.conf import settings
from django.contrib.auth import logout


class IdleSessionTimeoutMiddleware:
    """Log out a session idle for longer than ``IDLE_TIMEOUT_SECONDS`` (server-side, not only the cookie).

    The activity stamp is rewritten at most once a ``RESOLUTION`` seconds, so a busy user does not
    cost a session write per request; the session cookie's age renews with each such write.
    """

    KEY = "last_activity"
    RESOLUTION = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.KEY)
            if last is not None and now - int(last) > settings.IDLE_TIMEOUT_SECONDS:
                logout(request)
            elif last is None or now - int(last) >= self.RESOLUTION:
                request.session[self.KEY] = now
        return self.get_response(request)
