"""Production settings (TECHTRANSFER_PRODUCTION=1): what ``check --deploy`` and the 等保 baseline ask for.

Each test starts a fresh interpreter, because settings are read once, from the environment.
"""

import json
import os
import secrets
import subprocess
import sys

import pytest

PRODUCTION_ENV = {
    "TECHTRANSFER_PRODUCTION": "1",
    "TECHTRANSFER_ALLOWED_HOSTS": "kjcg.example.gov.cn",
    "DJANGO_SETTINGS_MODULE": "techtransfer.settings",
}


def run(*args: str, secret_key: str | None = None, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TECHTRANSFER_")}
    environment.update(PRODUCTION_ENV, **env)
    if secret_key is not None:
        environment["TECHTRANSFER_SECRET_KEY"] = secret_key
    return subprocess.run([sys.executable, *args], env=environment, capture_output=True, text=True, timeout=120)


BASELINE = [
    "PASSWORD_HASHERS",
    "SESSION_COOKIE_AGE",
    "IDLE_TIMEOUT_SECONDS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "DEBUG",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_TIME",
]


@pytest.fixture(scope="module")
def production():
    """The baseline settings as a production process sees them, plus a password hashed there."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "from django.contrib.auth.hashers import make_password; "
        f"values = {{n: getattr(settings, n) for n in {BASELINE!r}}}; "
        "values['hash'] = make_password('Demo-2026-pass'); print(json.dumps(values))"
    )
    done = run("-c", script, secret_key=secrets.token_urlsafe(50))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_deploy_check_reports_no_issues_with_production_settings():
    # Given production settings and a 50+ character random secret key
    key = secrets.token_urlsafe(50)
    assert len(key) >= 50
    # When Django's deployment checklist runs, failing even on warnings
    done = run("-m", "techtransfer.cli", "check", "--deploy", "--fail-level", "WARNING", secret_key=key)
    # Then it finds nothing to report
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced)."


def test_deploy_check_does_catch_a_weak_secret_key():
    # The check above could pass vacuously if the deploy checks did not run: a short key must be caught.
    done = run("-m", "techtransfer.cli", "check", "--deploy", "--fail-level", "WARNING", secret_key="too-short-key")
    assert done.returncode != 0
    assert "security.W009" in done.stdout + done.stderr


def test_production_refuses_to_start_without_a_secret_key():
    done = run("-c", "import django; django.setup()")
    assert done.returncode != 0
    assert "TECHTRANSFER_SECRET_KEY must be set when TECHTRANSFER_PRODUCTION=1" in done.stderr


def test_production_hashes_passwords_with_argon2_first(production):
    assert production["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production["hash"].startswith("argon2$argon2id$")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("SESSION_COOKIE_AGE", 1800),
        ("IDLE_TIMEOUT_SECONDS", 1800),
        ("SESSION_COOKIE_SECURE", True),
        ("SESSION_COOKIE_HTTPONLY", True),
        ("CSRF_COOKIE_SECURE", True),
        ("DEBUG", False),
        ("AXES_FAILURE_LIMIT", 5),
        ("AXES_COOLOFF_TIME", 0.25),
    ],
)
def test_production_session_and_lockout_baseline(production, name, expected):
    # Idle sessions end after 30 minutes; 5 failed logins lock the account for 15 minutes (0.25 h).
    assert production[name] == expected
