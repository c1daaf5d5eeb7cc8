"""Fixtures of the browser tests: the real server on a scratch demo database, and Debian's Chromium."""

import os

import pytest

from .demo_server import CHROMIUM, CHROMIUM_ARGS, demo_server, is_postgres_url, require_chromium
from .pages import TIMEOUT_MS, Watch


@pytest.fixture(scope="session")
def demo_url():
    """Base URL of ``runserver`` on a freshly migrated scratch database with the demo loaded.

    On the SQLite run the server has its own SQLite file under a temporary ``TECHTRANSFER_VAR_DIR``;
    on the PostgreSQL run (``DATABASE_URL`` names a PostgreSQL server, as under ``make
    test-postgres``) it has its own scratch database on that server, beside pytest's test database.
    The server is stopped, the directory deleted and the scratch database dropped at the end of
    the session, also when a test fails.
    """
    require_chromium()
    database_url = os.environ.get("DATABASE_URL")
    with demo_server(postgres=database_url if is_postgres_url(database_url) else None) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module.

    Module scope, not session: Playwright's sync API keeps an event loop running while it is open,
    and Django refuses database work in tests of other modules while a loop runs.
    """
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def watch(demo_url):
    """Foreign requests, console errors and 4xx/5xx answers of every page the test opens."""
    return Watch(demo_url)


@pytest.fixture
def open_page(browser, watch):
    """``open_page()`` → a page in a new browser context (its own cookies), in Chinese, watched."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", base_url=watch.base_url)
        context.set_default_timeout(TIMEOUT_MS)
        watch.attach(context)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
