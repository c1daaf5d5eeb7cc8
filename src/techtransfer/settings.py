"""All settings, read from the environment (see ``.env.example``).

SQLite under ``var/`` is the embedded default; PostgreSQL through ``DATABASE_URL``.
``TECHTRANSFER_PRODUCTION=1`` switches on the hardened deployment settings.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


PACKAGE_DIR = Path(__file__).resolve().parent
# A source checkout keeps its data in <repo>/var; an installed copy uses $TECHTRANSFER_HOME.
PROJECT_DIR = Path(os.environ.get("TECHTRANSFER_HOME", PACKAGE_DIR.parent.parent)).resolve()
VAR_DIR = Path(os.environ.get("TECHTRANSFER_VAR_DIR", PROJECT_DIR / "var")).resolve()

PRODUCTION = env_bool("TECHTRANSFER_PRODUCTION")
DEBUG = env_bool("TECHTRANSFER_DEBUG", default=not PRODUCTION)

SECRET_KEY = os.environ.get("TECHTRANSFER_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("TECHTRANSFER_SECRET_KEY must be set when TECHTRANSFER_PRODUCTION=1")
    SECRET_KEY = "insecure-development-key-only-for-local-use-0123456789abcdefghijklmnop"

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("TECHTRANSFER_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
if not PRODUCTION:
    ALLOWED_HOSTS += ["testserver"]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TECHTRANSFER_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "axes",
    "csp",
    "techtransfer.core",
    "techtransfer.audit",
    "techtransfer.regions",
    "techtransfer.accounts",
    "techtransfer.organizations",
    "techtransfer.achievements",
    "techtransfer.demands",
    "techtransfer.experts",
    "techtransfer.instruments",
    "techtransfer.pilotbases",
    "techtransfer.policies",
    "techtransfer.exchange",
    "techtransfer.matchmaking",
    "techtransfer.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "techtransfer.core.locale.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "techtransfer.core.pagecache.AnonymousPageCacheMiddleware",
    "techtransfer.accounts.middleware.IdleSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "techtransfer.urls"
WSGI_APPLICATION = "techtransfer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "techtransfer.portal.context_processors.platform",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'techtransfer.sqlite3'}"),
        conn_max_age=int(os.environ.get("TECHTRANSFER_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL lets readers run while one writer writes; busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 20,
            # Memory-mapped reads let every server process share the operating system's copy of
            # the database pages instead of each filling its own cache.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=1073741824;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if not PRODUCTION else DATABASES["default"]["CONN_MAX_AGE"]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    # Anonymous pages, per process; see core/pagecache.py for why that stays correct.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "techtransfer.accounts.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]

# 5 failed logins lock the account for 15 minutes (等保 2.0 三级 style).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:workspace"
LOGOUT_REDIRECT_URL = "portal:home"

# Idle sessions end after 30 minutes (accounts.middleware.IdleSessionTimeoutMiddleware renews
# the session, and so the cookie's age, at most once a minute while the user is active).
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
IDLE_TIMEOUT_SECONDS = 30 * 60

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Strict CSP: every script and style comes from this server; no inline code at all.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("TECHTRANSFER_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # TLS is usually terminated by the intranet's reverse proxy.
    SECURE_SSL_REDIRECT = env_bool("TECHTRANSFER_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TECHTRANSFER_LOG_LEVEL", "WARNING")},
}

# Which deployment this is: the region tree and the platform's name come from data, not code.
PLATFORM_NAME = os.environ.get("TECHTRANSFER_PLATFORM_NAME", "科技成果转移转化一站式服务平台")

# After a record is published, withdrawn or edited, the matching index is rebuilt: "background" (a thread of
# the server process, debounced: no request waits), "sync" (in the request, after commit) or "off" (only by
# `techtransfer index update`). See techtransfer/matchmaking/indexing.py.
MATCHING_AUTO_UPDATE = os.environ.get("TECHTRANSFER_MATCHING_AUTO_UPDATE", "background")
if MATCHING_AUTO_UPDATE not in {"background", "sync", "off"}:
    raise ImproperlyConfigured("TECHTRANSFER_MATCHING_AUTO_UPDATE must be background, sync or off")

# Free-text search embeds the typed query with the index's model: "sync" (the web process loads the model lazily,
# once; repeated queries are cached; the search page shows lexical results first and swaps in the hybrid ones) or
# "off" (lexical only). See techtransfer/matchmaking/queryvectors.py.
MATCHING_QUERY_EMBEDDING = os.environ.get("TECHTRANSFER_MATCHING_QUERY_EMBEDDING", "sync")
if MATCHING_QUERY_EMBEDDING not in {"sync", "off"}:
    raise ImproperlyConfigured("TECHTRANSFER_MATCHING_QUERY_EMBEDDING must be sync or off")
