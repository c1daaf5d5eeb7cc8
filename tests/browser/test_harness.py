"""The browser tests' harness: a missing Chromium skips them, except on CI; the server's environment."""

from pathlib import Path

import pytest

from .demo_server import is_postgres_url, require_chromium, server_environment


def test_a_missing_chromium_skips_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_chromium(tmp_path / "chromium")
    assert (
        str(skipped.value)
        == f"{tmp_path / 'chromium'} 不存在：浏览器测试需要 Debian 的 chromium 软件包（apt-get install chromium）"
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_chromium_fails_on_ci(monkeypatch, tmp_path, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium(tmp_path / "chromium")
    assert str(failed.value).endswith("；CI 上不允许跳过")


def test_ci_false_is_not_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_chromium(tmp_path / "chromium")


def test_the_server_runs_on_its_own_database_with_the_development_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/techtransfer")
    monkeypatch.setenv("TECHTRANSFER_PRODUCTION", "1")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "elsewhere.settings")

    sqlite = server_environment(Path("/scratch"))
    postgres = server_environment(Path("/scratch"), "postgres://postgres@127.0.0.1:5432/techtransfer_browser_1")

    assert "DATABASE_URL" not in sqlite and "TECHTRANSFER_PRODUCTION" not in sqlite
    assert (sqlite["DJANGO_SETTINGS_MODULE"], sqlite["TECHTRANSFER_VAR_DIR"]) == ("techtransfer.settings", "/scratch")
    assert postgres["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/techtransfer_browser_1"


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgres://postgres@127.0.0.1:5432/techtransfer", True),
        ("postgresql://u@h/db", True),
        ("sqlite:////tmp/x.sqlite3", False),
        ("", False),
        (None, False),
    ],
)
def test_is_postgres_url(url, expected):
    assert is_postgres_url(url) is expected
