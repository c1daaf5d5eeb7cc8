"""Swagger in Debian's Chromium under the strict CSP: it renders, nothing is blocked or fetched elsewhere."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


@pytest.fixture
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser.new_page()
        browser.close()


@pytest.mark.django_db
def test_swagger_renders_under_the_csp_without_leaving_the_server(live_server, page):
    problems, foreign = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else foreign.append(r.url))

    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-tag", timeout=15000)

    assert page.title() == "科技成果转移转化平台 API"
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert any("科技成果" in t for t in tags)
    assert page.locator(".opblock").count() >= 28
    assert problems == []  # a CSP violation shows up here as a console error
    assert foreign == []
