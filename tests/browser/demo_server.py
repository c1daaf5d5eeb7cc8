"""The real server on a scratch copy of the demo, for the browser tests and the README screenshots.

``demo_server()`` makes a temporary directory and points ``TECHTRANSFER_VAR_DIR`` at it, so the
server's SQLite database lives there; with ``postgres=<DATABASE_URL of a PostgreSQL server>`` it
creates a scratch database on that server instead (``make test-postgres`` runs the browser test
on PostgreSQL that way). It migrates the database, loads the code lists and the demo data, starts
``runserver`` on a free port of 127.0.0.1 and yields its base URL. On the way out, also after a
failure or Ctrl-C, it stops the server and deletes the directory (and drops the scratch database).

Nothing here touches the test database: the server is a separate process with its own database,
so pytest-django's ``live_server`` (which flushes tables, and the audit triggers refuse that) is
not needed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from techtransfer.devtools.pgtest import free_port

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, kept quiet: no first-run, sync, component or other background traffic, so that
# every request the tests see comes from the page under test.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SETUP_TIMEOUT = 180
START_TIMEOUT = 30
STOP_TIMEOUT = 10
# One interpreter for the four commands: each Django start-up costs a second or two. The matching index is
# built too, so that the pages' "为您推荐" has something to show.
SETUP_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("load_codes", verbosity=0)
call_command("load_demo", verbosity=0)
call_command("index", "rebuild", verbosity=0)
"""


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def require_chromium(path: Path = CHROMIUM) -> None:
    """Skip without Debian's Chromium, except on CI (``CI`` set), where a missing browser is a failure."""
    import pytest

    if path.is_file() and os.access(path, os.X_OK):
        return
    message = f"{path} 不存在：浏览器测试需要 Debian 的 chromium 软件包（apt-get install chromium）"
    if on_ci():
        pytest.fail(message + "；CI 上不允许跳过", pytrace=False)
    pytest.skip(message)


class DemoServerError(RuntimeError):
    """The scratch demo could not be prepared or the server did not come up; the message says why."""


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}


def server_environment(var_dir: Path, database_url: str | None = None) -> dict:
    """The test run's environment with the development settings, on ``database_url`` or SQLite in ``var_dir``."""
    env = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith(("TECHTRANSFER_", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="techtransfer.settings",
        TECHTRANSFER_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def scratch_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``server_url``; dropped on the way out."""
    import psycopg

    name = f"techtransfer_browser_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoServerError(f"服务器进程已退出（返回码 {process.returncode}）：\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise DemoServerError(f"服务器 {START_TIMEOUT} 秒内没有应答 {url}：\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def demo_server(*, postgres: str | None = None) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:<port>``) of a server on a fresh demo database.

    The database is SQLite in a temporary directory, or a scratch database on the PostgreSQL
    server that the URL ``postgres`` names.
    """
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(scratch_postgres_database(postgres)) if postgres else None
        yield stack.enter_context(_server(database_url))


@contextlib.contextmanager
def _server(database_url: str | None) -> Iterator[str]:
    var_dir = Path(tempfile.mkdtemp(prefix="techtransfer-browser-"))
    process = None
    try:
        env = server_environment(var_dir, database_url)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP_SCRIPT],
            env=env,
            cwd=var_dir,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
        )
        if setup.returncode != 0:
            raise DemoServerError(f"准备演示数据库失败（返回码 {setup.returncode}）：\n{setup.stderr[-3000:]}")
        port = free_port()
        log = var_dir / "server.log"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "techtransfer.cli", "runserver", "--noreload", f"127.0.0.1:{port}"],
                env=env,
                cwd=var_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_serving(base_url + "/", process, log)
        yield base_url
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(var_dir, ignore_errors=True)
