"""One settings module, read from environment variables.

Every variable read here is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A variable, or the content of the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(env("JINGWANG_VAR_DIR", str(BASE_DIR / "var")))
INSECURE_DEV_KEYS = env_bool("JINGWANG_INSECURE_DEV_KEYS", False)


def secret(name: str, var_file: str, development: str) -> str:
    """A key: the variable (or NAME_FILE); else the file ``make demo`` generated under var/, so
    every command on one machine (make demo, jingwang, manage.py) uses the same keys; else, for
    tests and development only, a fixed value."""
    value = env(name, "")
    if not value and (VAR_DIR / var_file).is_file():
        value = (VAR_DIR / var_file).read_text(encoding="utf-8").strip()
    if not value:
        if not DEBUG and not INSECURE_DEV_KEYS:
            raise ImproperlyConfigured(
                f"{name} is not set: set it (or {name}_FILE), or run `make demo` once to "
                f"generate {VAR_DIR / var_file}."
            )
        value = development
    return value


SECRET_KEY = secret("SECRET_KEY", "secret_key", "insecure-development-key-do-not-use-in-production")
# Personal data key: 32 bytes, hex encoded.
PII_KEY = secret("JINGWANG_PII_KEY", "pii_key", "00" * 32)
# Audit key: 32 bytes, hex encoded; the audit chain and its sealed checkpoints are MACed with it.
AUDIT_KEY = secret("JINGWANG_AUDIT_KEY", "audit_key", "a0" * 32)
# Sealed checkpoints of the audit chain, kept outside the database (jingwang/audit/seals.py).
AUDIT_SEAL_FILE = Path(env("JINGWANG_AUDIT_SEAL_FILE", str(VAR_DIR / "audit-seals.log")))
AUDIT_SEAL_MINUTES = env_int("JINGWANG_AUDIT_SEAL_MINUTES", 10)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "jingwang.core",
    "jingwang.accounts",
    "jingwang.audit",
    "jingwang.territory",
    "jingwang.people",
    "jingwang.sms",
    "jingwang.incidents",
    "jingwang.disputes",
    "jingwang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CSP and no-store on every answer but static files (whitenoise answered those above).
    "jingwang.core.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jingwang.audit.middleware.ClientAddressMiddleware",
    "jingwang.accounts.middleware.RefusalAuditMiddleware",
    "jingwang.core.errors.ErrorMiddleware",
    "jingwang.accounts.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jingwang.accounts.middleware.LoginRequiredMiddleware",
    "jingwang.accounts.middleware.SecondFactorMiddleware",
    "jingwang.accounts.middleware.TemporaryPasswordMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jingwang.urls"
WSGI_APPLICATION = "jingwang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jingwang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jingwang.accounts.context.navigation",
                "jingwang.core.drafts.context",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'jingwang.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # Writers queue at BEGIN (IMMEDIATE) instead of failing when a transaction that read first
    # tries to write ("database is locked"); a write that waits longer than the timeout is
    # answered 429 (jingwang.core.errors), never 500.
    DATABASES["default"]["OPTIONS"].update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": env_int("JINGWANG_SQLITE_TIMEOUT", 20),
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
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
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "jingwang.accounts.passwords.CharacterClassValidator"},
]

# Lockout: 5 failed logins lock the account for 10 minutes (django-axes).
AXES_FAILURE_LIMIT = env_int("JINGWANG_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("JINGWANG_LOCKOUT_MINUTES", 10))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "jingwang.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("JINGWANG_AXES_ENABLED", True)

# Second factor (django-otp) for the 三员 and bureau admins. A wrong code counts as a failed
# login towards the lockout above (one counter, lifted by the security admin's "unlock"), so
# django-otp's own growing delays are off.
OTP_TOTP_ISSUER = "jingwang"
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# API tokens expire this many days after they were made.
API_TOKEN_DAYS = env_int("JINGWANG_API_TOKEN_DAYS", 90)
if API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("JINGWANG_API_TOKEN_DAYS must be 1 or more")

# Sessions expire after 30 idle minutes: the cookie is renewed on every request.
SESSION_COOKIE_AGE = env_int("JINGWANG_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("JINGWANG_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS (docs/deployment.md). HSTS is sent only on answers served over HTTPS.
SECURE_HSTS_SECONDS = env_int("JINGWANG_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("JINGWANG_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("JINGWANG_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("JINGWANG_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's plain-HTTP health check
# Behind a proxy that terminates HTTPS: the header it sets to "https" (e.g. X-Forwarded-Proto).
# Only when the app is reachable through that proxy alone, which must overwrite the header.
_PROXY_SSL_HEADER = env("JINGWANG_PROXY_SSL_HEADER", "").strip()
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LANGUAGE_COOKIE_NAME = "jingwang_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LOCALE_PATHS = [BASE_DIR / "jingwang" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"


def _leaflet_dir() -> str:
    import xstatic.pkg.leaflet

    return str(xstatic.pkg.leaflet.BASE_DIR)


STATICFILES_DIRS = [BASE_DIR / "jingwang" / "static", ("leaflet", _leaflet_dir())]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Map tiles: none by default (grids are drawn on a plain background on an intranet).
MAP_TILE_URL = env("JINGWANG_MAP_TILE_URL", "")

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("JINGWANG_UPLOAD_MAX_MB", 50) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# Imports (jingwang.core.imports): rows per file on the command line (the bulk budget is
# 1,000,000 rows) and on the page, vertices per shape, problems before checking stops.
IMPORT_MAX_ROWS = env_int("JINGWANG_IMPORT_MAX_ROWS", 1_000_000)
IMPORT_MAX_ROWS_WEB = env_int("JINGWANG_IMPORT_MAX_ROWS_WEB", 100_000)
IMPORT_MAX_VERTICES = env_int("JINGWANG_IMPORT_MAX_VERTICES", 100_000)
IMPORT_MAX_PROBLEMS = env_int("JINGWANG_IMPORT_MAX_PROBLEMS", 1_000)

# Exports (jingwang.core.exports): the most rows one XLSX export may hold.
EXPORT_MAX_ROWS = env_int("JINGWANG_EXPORT_MAX_ROWS", 100_000)

NINJA_PAGINATION_PER_PAGE = 100

# Jobs (huey; docs/architecture.md, "Jobs"): Redis when JINGWANG_REDIS_URL is set, else a SQLite
# file under var/. Immediate mode runs each task in the caller, without a queue (the tests).
REDIS_URL = env("JINGWANG_REDIS_URL", "")
HUEY: dict[str, Any] = {
    "name": "jingwang",
    "immediate": env_bool("JINGWANG_JOBS_IMMEDIATE", False),
    "utc": True,
    "consumer": {"workers": env_int("JINGWANG_JOBS_WORKERS", 2), "worker_type": "thread"},
    **(
        {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
        if REDIS_URL
        else {"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "huey.sqlite3")}
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

# The lockout is per account, as 等保 asks ("5 failed logins lock the account"); an IP-based
# limit would lock out a whole village behind one NAT.
# HSTS preloading is for public domains on the browsers' built-in list; an intranet host cannot
# be on it (a public deployment may still set JINGWANG_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = ["axes.W006", "security.W021"]

# --- SMS (jingwang/sms; docs/configuration.md, "SMS") -----------------------------------------
# The gateway: "outbox" keeps every text on the outbox page and sends nothing off the machine;
# "http" posts each one to a government SMS platform's JSON endpoint.
SMS_BACKEND = env("JINGWANG_SMS_BACKEND", "outbox").strip().lower()
if SMS_BACKEND not in {"outbox", "http"}:
    raise ImproperlyConfigured(f"JINGWANG_SMS_BACKEND must be outbox or http, not {SMS_BACKEND!r}")
SMS_URL = env("JINGWANG_SMS_URL", "")
SMS_ACCOUNT = env("JINGWANG_SMS_ACCOUNT", "")
SMS_PASSWORD = env("JINGWANG_SMS_PASSWORD", "")
SMS_TEMPLATE = env("JINGWANG_SMS_TEMPLATE", "")
SMS_SIGNATURE = env("JINGWANG_SMS_SIGNATURE", "")
SMS_TIMEOUT = env_int("JINGWANG_SMS_TIMEOUT", 10)
if SMS_BACKEND == "http" and not SMS_URL:
    raise ImproperlyConfigured("JINGWANG_SMS_BACKEND=http needs JINGWANG_SMS_URL")
# The shared secret the gateway signs its delivery reports and replies with (HMAC-SHA256).
SMS_REPORT_SECRET = env("JINGWANG_SMS_REPORT_SECRET", "")
# Where links in texts point (the opt-out page, surveys): the address recipients can open.
SMS_LINK_BASE = env("JINGWANG_SMS_LINK_BASE", "").rstrip("/")
# Rules: no text between these hours (Asia/Shanghai) unless urgent; texts per number per day;
# attempts before a text fails, and the first wait between them (doubling each time).
SMS_QUIET_START = env_int("JINGWANG_SMS_QUIET_START", 21)
SMS_QUIET_END = env_int("JINGWANG_SMS_QUIET_END", 8)
SMS_DAILY_CAP = env_int("JINGWANG_SMS_DAILY_CAP", 3)
SMS_MAX_ATTEMPTS = env_int("JINGWANG_SMS_MAX_ATTEMPTS", 5)
SMS_RETRY_SECONDS = env_int("JINGWANG_SMS_RETRY_SECONDS", 60)
if not (0 <= SMS_QUIET_START <= 23 and 0 <= SMS_QUIET_END <= 23):
    raise ImproperlyConfigured("JINGWANG_SMS_QUIET_START and _END are hours from 0 to 23")
if SMS_DAILY_CAP < 1 or SMS_MAX_ATTEMPTS < 1 or SMS_RETRY_SECONDS < 1 or SMS_TIMEOUT < 1:
    raise ImproperlyConfigured(
        "JINGWANG_SMS_DAILY_CAP, _MAX_ATTEMPTS, _RETRY_SECONDS and _TIMEOUT must be 1 or more"
    )
# --- end of SMS --------------------------------------------------------------------------------
