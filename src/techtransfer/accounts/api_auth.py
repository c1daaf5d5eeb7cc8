"""How the REST API knows who is calling.

- ``Authorization: Bearer tt_…``: an API token (``accounts.ApiToken``). A bearer token that is
  wrong, revoked or expired is refused with 401 even on a read: a client with a broken token must
  notice, not silently become anonymous. Other ``Authorization`` schemes are ignored.
- the browser's Django session, with the CSRF check on unsafe methods;
- nobody: reads only (``READ_AUTH``). Any write without one of the two above answers 401.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth
from ninja.utils import check_csrf

from .services import api_token_authenticate


class InvalidToken(Exception):
    """An ``Authorization`` header that names no live token."""

    def __init__(self):
        super().__init__(_("API 令牌无效、已吊销或已过期"))


class CsrfFailed(Exception):
    def __init__(self):
        super().__init__(_("CSRF 校验失败：请刷新页面后重试，或改用 API 令牌"))


class TokenAuth(HttpBearer):
    """``Authorization: Bearer tt_…``."""

    def __call__(self, request):
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _sep, raw_key = header.strip().partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None  # another scheme (a proxy's Basic auth, say) is not ours to judge
        if not raw_key.strip():
            raise InvalidToken()
        return self.authenticate(request, raw_key.strip())

    def authenticate(self, request, token):
        user = api_token_authenticate(raw_key=token)
        if user is None:
            raise InvalidToken()
        request.user = user
        return user


class BrowserSessionAuth(SessionAuth):
    """The logged-in browser session; unsafe methods must carry the CSRF token (``X-CSRFToken``)."""

    def __init__(self):
        super().__init__(csrf=True)

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise CsrfFailed()
        return request.COOKIES.get(self.param_name)


def anonymous_reader(request):
    """Last in ``READ_AUTH``: a read without credentials is made as the anonymous public."""
    return AnonymousUser()


token_auth = TokenAuth()
session_auth = BrowserSessionAuth()

WRITE_AUTH = [token_auth, session_auth]
READ_AUTH = [token_auth, session_auth, anonymous_reader]


def api_user(request):
    """The user a handler acts for: a ``User``, or None for the anonymous public."""
    user = getattr(request, "auth", None)
    return user if user is not None and user.is_authenticated else None
