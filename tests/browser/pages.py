"""What the browser tests share: the watch on every page of a context, and logging in as a demo user."""

from dataclasses import dataclass, field

from techtransfer.demo.loader import DEMO_PASSWORD

TIMEOUT_MS = 15_000


@dataclass
class Watch:
    """What every page of a browser context did that a user should never see."""

    base_url: str
    foreign: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def attach(self, context) -> None:
        context.on("request", self._request)
        context.on("response", self._response)
        context.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        context.on("weberror", lambda e: self.errors.append(f"page error: {e.error}"))

    def _request(self, request) -> None:
        url = request.url
        if not (url == self.base_url or url.startswith(self.base_url + "/") or url.startswith("data:")):
            self.foreign.append(url)

    def _response(self, response) -> None:
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/workspace/")
