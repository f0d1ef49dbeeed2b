"""All settings, read from the environment. Every variable is listed in README.md."""

import os
import secrets
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _dev_secret_key() -> str:
    """A key generated once per checkout and kept under var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY") or _dev_secret_key()
DEBUG = envbool("DEBUG", True)
ALLOWED_HOSTS = [h.strip() for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "assistants",
    "tickets",
    "mail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so that a real worker process in the tests can open the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not envstr("REDIS_CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": envstr("REDIS_CACHE_URL")}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Sessions are read from the cache first: a poll costs the user's row and its own query only.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Uploads are private: they are served only through views that check access, never from MEDIA_URL.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = None

# Email: the console backend by default; EMAIL_BACKEND=smtp with EMAIL_HOST etc. for real mail.
EMAIL_BACKEND_NAME = envstr("EMAIL_BACKEND", "console")
if EMAIL_BACKEND_NAME == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": envstr("EMAIL_HOST", "localhost"),
                "port": envint("EMAIL_PORT", 25),
                "username": envstr("EMAIL_HOST_USER"),
                "password": envstr("EMAIL_HOST_PASSWORD"),
                "use_tls": envbool("EMAIL_USE_TLS", False),
                # Without one a hung server holds a send (and its worker) forever.
                "timeout": envint("EMAIL_TIMEOUT", 30),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Help desk <support@example.com>")

# --- Celery -------------------------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem"):
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = envint("CELERY_PREFETCH", 4)
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {"task": "assistants.tasks.sweep_runs", "schedule": envfloat("SWEEP_INTERVAL", 5.0)},
    "thread-lifecycle": {"task": "assistants.tasks.run_thread_lifecycle", "schedule": 3600.0},
    # Metadata pushes a lost task left dirty, and the knowledge base's vector store (OpenAI only).
    "thread-metadata": {"task": "assistants.tasks.sweep_thread_metadata", "schedule": 60.0},
    "knowledge-base": {"task": "assistants.tasks.sync_knowledge_base", "schedule": 600.0},
    # The email channel: poll IMAP mailboxes; send mail and parse mail whose task was lost.
    "mail-poll": {"task": "mail.tasks.poll_mailboxes", "schedule": envfloat("MAIL_POLL_INTERVAL", 30.0)},
    "mail-sweep": {"task": "mail.tasks.sweep_mail", "schedule": 30.0},
}
# A short publish timeout: if the broker is down, a customer's request must still succeed
# (the sweeper enqueues the run later).
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("max_retries", 1)
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("interval_start", 0)
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("interval_step", 0.2)
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("interval_max", 0.5)
CELERY_TASK_PUBLISH_RETRY = False
WORKER_ASYNC_COMMIT = envbool("WORKER_ASYNC_COMMIT", True)
# Celery's Django fixup closes the database connection before and after every task unless this
# is set, and a new PostgreSQL connection costs more than most steps. The worker applies Django's
# own rule around each task instead (config/celery.py): a connection that broke, or is older than
# DB_CONN_MAX_AGE, is closed; any other is kept.
CELERY_DB_REUSE_MAX = 2**31

# --- Assistant -----------------------------------------------------------------------------
OPENAI_API_KEY = envstr("OPENAI_API_KEY")
ASSISTANT_PROVIDER = envstr("ASSISTANT_PROVIDER") or ("openai" if OPENAI_API_KEY else "offline")
OPENAI_BASE_URL = envstr("OPENAI_BASE_URL") or None
OPENAI_MODEL = envstr("OPENAI_MODEL", "gpt-5-mini")
OPENAI_TIMEOUT = envfloat("OPENAI_TIMEOUT", 20.0)
OPENAI_WEBHOOK_SECRET = envstr("OPENAI_WEBHOOK_SECRET")
# USD per million tokens: (input, cached input, output). Estimates; edit to match your contract.
ASSISTANT_PRICES = {
    "gpt-5": (Decimal("1.25"), Decimal("0.125"), Decimal("10.00")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("0.025"), Decimal("2.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.005"), Decimal("0.40")),
    "offline": (Decimal("0"), Decimal("0"), Decimal("0")),
}
ASSISTANT_MAX_OUTPUT_TOKENS = envint("ASSISTANT_MAX_OUTPUT_TOKENS", 1200)
ASSISTANT_CONTEXT_BUDGET = envint("ASSISTANT_CONTEXT_BUDGET", 12000)
ASSISTANT_MAX_TOOL_CALLS_PER_RUN = envint("ASSISTANT_MAX_TOOL_CALLS_PER_RUN", 6)
ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR = envint("ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR", 20)
ASSISTANT_MAX_REPLIES_PER_TURN = envint("ASSISTANT_MAX_REPLIES_PER_TURN", 2)
ASSISTANT_MAX_ATTEMPTS = envint("ASSISTANT_MAX_ATTEMPTS", 12)
ASSISTANT_RUN_TIME_LIMIT = envint("ASSISTANT_RUN_TIME_LIMIT", 300)
ASSISTANT_STEP_LEASE = envint("ASSISTANT_STEP_LEASE", 30)
ASSISTANT_BACKOFF_BASE = envfloat("ASSISTANT_BACKOFF_BASE", 0.5)
ASSISTANT_BACKOFF_MAX = envfloat("ASSISTANT_BACKOFF_MAX", 30.0)
ASSISTANT_SWEEP_GRACE = envfloat("ASSISTANT_SWEEP_GRACE", 5.0)

# --- Help desk -----------------------------------------------------------------------------
HELPDESK_DEFAULT_AI_MODE = envstr("HELPDESK_DEFAULT_AI_MODE", "auto")
HELPDESK_MAX_UPLOAD_BYTES = envint("HELPDESK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
HELPDESK_POSTS_PER_MINUTE = envint("HELPDESK_POSTS_PER_MINUTE", 10)
THREAD_ARCHIVE_AFTER_DAYS = envint("THREAD_ARCHIVE_AFTER_DAYS", 30)
REMOTE_RETENTION_DAYS = envint("REMOTE_RETENTION_DAYS", 90)
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")

# --- Email channel (mail/) -----------------------------------------------------------------
# The address customers write to; reply addresses are its plus-addresses. Default: DEFAULT_FROM_EMAIL's.
MAIL_SUPPORT_ADDRESS = envstr("MAIL_SUPPORT_ADDRESS")
# imaps://user:password@host:993/INBOX?processed=Processed (or mailboxes added in the admin).
INBOUND_IMAP_URL = envstr("INBOUND_IMAP_URL")
# Fernet key for mailbox passwords stored in the database (default: derived from SECRET_KEY).
MAIL_ENCRYPTION_KEY = envstr("MAIL_ENCRYPTION_KEY")
MAIL_IMAP_TIMEOUT = envfloat("MAIL_IMAP_TIMEOUT", 30.0)
MAIL_MAX_NEW_TICKETS_PER_SENDER_PER_HOUR = envint("MAIL_MAX_NEW_TICKETS_PER_SENDER_PER_HOUR", 5)
MAIL_MAX_AUTO_PER_RECIPIENT_PER_HOUR = envint("MAIL_MAX_AUTO_PER_RECIPIENT_PER_HOUR", 20)
MAIL_SEND_MAX_ATTEMPTS = envint("MAIL_SEND_MAX_ATTEMPTS", 8)
MAIL_LINK_MAX_AGE_DAYS = envint("MAIL_LINK_MAX_AGE_DAYS", 7)
# Portal customers get their replies by email unless they turn it off (email tickets always do).
MAIL_PORTAL_REPLIES = envbool("MAIL_PORTAL_REPLIES", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
