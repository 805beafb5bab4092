"""Settings for every environment, read from the process environment and an optional `.env`.

With nothing set the project runs for development: SQLite in the checkout, a local-memory cache and Celery
tasks executed eagerly in the web process. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis.
With `DEBUG` off the settings refuse to start without `SECRET_KEY` and `ALLOWED_HOSTS`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-0123456789abcdef")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    # A deployment must say who it is: no default secret, no default host.
    if not env.str("SECRET_KEY", default=""):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if not env.list("ALLOWED_HOSTS", default=[]):
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    # Before django.contrib.auth: its `createsuperuser` (which also reads the optional names) must win.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "jeghealth_backend.api",
    "alerts",
    "health_metrics",
    "iot_devices",
    "notifications",
    "appointments",
    "medications",
    "reports",
    # `manage.py seed_demo` (make demo): demo people and their data, through every app's services.
    "demo",
]

MIDDLEWARE = [
    # Outermost: request latency by route for /metrics (a no-op while METRICS_ENABLED is off).
    "jeghealth_backend.metrics.middleware.MetricsMiddleware",
    "jeghealth_backend.api.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Inside CORS and security (none of which reads a body), so that a browser can read its 413 and 400 answers.
    "jeghealth_backend.api.middleware.BodySizeLimitMiddleware",
    "jeghealth_backend.api.middleware.ApiErrorEnvelopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jeghealth_backend.api.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jeghealth_backend.urls"
WSGI_APPLICATION = "jeghealth_backend.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Gunicorn's workers and eager tasks share one file: wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    # A new connection per request costs about 5x throughput (PERFORMANCE.md); keep them, check them.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # PostgreSQL's JIT compiles any plan whose estimated cost is high: about 150 ms of compilation for a query
    # that runs in tens (bench/README.md, source arbitration). No query of this service gains from it. An
    # `?options=` in DATABASE_URL wins.
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
# A streaming read replica: lag-tolerant reads go there (jeghealth_backend/replica.py), and a person's reads within
# REPLICA_READ_AFTER_WRITE_SECONDS of their own write go to the primary.
REPLICA_READ_AFTER_WRITE_SECONDS = env.float("REPLICA_READ_AFTER_WRITE_SECONDS", default=5.0)
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"].update(
        ATOMIC_REQUESTS=False,
        CONN_MAX_AGE=DATABASES["default"].get("CONN_MAX_AGE", 0),
        CONN_HEALTH_CHECKS=True,
        # The test runner makes no database of its own for it: it reads the test database.
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASES["replica"]["OPTIONS"].setdefault("options", "-c jit=off")
DATABASE_ROUTERS = ["jeghealth_backend.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Where several deployments (or test runs) share one Redis database, each gives its keys a prefix of its own.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="jeg")
CELERY_BROKER_KEY_PREFIX = env.str("CELERY_BROKER_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Fails open to a per-process local-memory cache while Redis is down (throttles, cached reads);
            # its clear() deletes only KEY_PREFIX's keys, never the broker's (jeghealth_backend/cache.py).
            "BACKEND": "jeghealth_backend.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jeghealth"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# Late acknowledgement: a task whose worker dies is delivered again; every task is idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# Unacknowledged messages come back after this many seconds; it must outlast the hard time limit and be the
# same in every place Celery reads it, or a long task runs twice (SECURITY-CHECKLIST D1).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=420)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
if CELERY_BROKER_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_BROKER_KEY_PREFIX
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_CREATE_MISSING_QUEUES = True
# Every task's queue is decided here and only here: not on the task (Celery deprecates `queue=` there, and 6.0
# ignores it) nor in beat entries' options (which would override this). Exact names win over patterns, patterns
# are tried in order, and a task matching nothing goes to CELERY_TASK_DEFAULT_QUEUE. The workers of the Makefile
# and docker-compose consume every queue named here (tests/api/test_celery_config.py).
CELERY_TASK_ROUTES = {
    "accounts.send_email": {"queue": "notifications"},
    "appointments.send_due_reminders": {"queue": "notifications"},
    "medications.send_dose_reminders": {"queue": "notifications"},
    # Device housekeeping, not ingestion: kept on `default` (an exact name wins over `iot_devices.*`).
    "iot_devices.check_offline": {"queue": "default"},
    "iot_devices.warn_expiring_keys": {"queue": "default"},
    "iot_devices.*": {"queue": "ingest"},
    "notifications.*": {"queue": "notifications"},
    # Reminders and escalations of critical alerts are about telling people: with the deliveries.
    "alerts.*": {"queue": "notifications"},
    "reports.*": {"queue": "reports"},
}
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat"))
# Periodic work is declared here and only here; each task finds its work in the database.
CELERY_BEAT_SCHEDULE = {
    "accounts-flush-expired-tokens": {
        "task": "accounts.flush_expired_tokens",
        "schedule": crontab(hour=3, minute=17),
    },
    # Reminders and escalations of unacknowledged critical alerts: the schedule is in the episodes' rows.
    "alerts-run-due": {
        "task": "alerts.run_due",
        "schedule": timedelta(seconds=env.float("ALERT_DUE_INTERVAL_SECONDS", default=60.0)),
        "options": {"expires": 55},
    },
    "notifications-dispatch-due": {
        "task": "notifications.dispatch_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Expo's push receipts of pushes sent 15 minutes to a day ago: DeviceNotRegistered deactivates the token.
    "notifications-check-push-receipts": {
        "task": "notifications.check_push_receipts",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 600},
    },
    # Summary rollups whose refresh task was lost (broker down, worker killed) are refreshed from the database.
    "health-metrics-sweep-rollups": {
        "task": "health_metrics.sweep_rollups",
        "schedule": timedelta(minutes=10),
    },
    # Readings whose anomaly detection task was lost get it from the database.
    "health-metrics-sweep-anomaly-checks": {
        "task": "health_metrics.sweep_anomaly_checks",
        "schedule": timedelta(minutes=5),
    },
    # Nightly: rollups of moved people (new timezone) and of the last two days are recomputed.
    "health-metrics-reconcile-rollups": {
        "task": "health_metrics.reconcile_rollups",
        "schedule": crontab(hour=2, minute=41),
    },
    # The changes feed remembers deletions 30 days (health_metrics/sync.py).
    "health-metrics-prune-tombstones": {
        "task": "health_metrics.prune_tombstones",
        "schedule": crontab(hour=3, minute=17),
    },
    # The readings table has no foreign-key constraints (health_metrics/models.py): a weekly check of what they
    # would guarantee.
    "health-metrics-check-references": {
        "task": "health_metrics.check_references",
        "schedule": crontab(day_of_week=0, hour=4, minute=13),
    },
    # The imports' outbox sweeper: a history file whose enqueue failed or whose worker died is imported again from
    # its last committed chunk.
    "health-metrics-requeue-stale-imports": {
        "task": "health_metrics.requeue_stale_imports",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    # The readings table's monthly partitions (PostgreSQL) are created months ahead; idempotent, under a lock.
    "health-metrics-ensure-partitions": {
        "task": "health_metrics.ensure_partitions",
        "schedule": crontab(hour=1, minute=53),
    },
    # The outbox sweeper: uploads whose enqueue failed or whose worker died are enqueued again.
    "iot-devices-requeue-stale-batches": {
        "task": "iot_devices.requeue_stale_batches",
        "schedule": timedelta(minutes=1),
    },
    "iot-devices-check-offline": {
        "task": "iot_devices.check_offline",
        "schedule": timedelta(minutes=5),
    },
    # Owners of devices whose key expires within IOT_API_KEY_WARN_DAYS are told once per key.
    "iot-devices-warn-expiring-keys": {
        "task": "iot_devices.warn_expiring_keys",
        "schedule": crontab(hour=9, minute=7),
    },
    # Appointment reminders: finds due (appointment, offset) pairs in the database and claims each once.
    "appointments-send-due-reminders": {
        "task": "appointments.send_due_reminders",
        "schedule": timedelta(minutes=1),
    },
    # Medication dose reminders: regimens whose next dose is due (indexed cursor), one notification per dose.
    "medications-send-dose-reminders": {
        "task": "medications.send_dose_reminders",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Doses still unlogged past the grace window are recorded as missed (idempotent, cursor per regimen).
    "medications-mark-missed-doses": {
        "task": "medications.mark_missed_doses",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # Reports whose enqueue was lost (broker down) or whose worker died are enqueued again from their rows.
    "reports-requeue-stale": {
        "task": "reports.requeue_stale",
        "schedule": timedelta(minutes=2),
        "options": {"expires": 110},
    },
    # Reports past REPORT_RETENTION_DAYS, and files whose report is gone, are deleted with their files.
    "reports-purge-expired": {
        "task": "reports.purge_expired",
        "schedule": crontab(minute=23),
    },
}

# --- Auth -------------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "username", "first_name", "last_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
EMAIL_VERIFICATION_TTL_HOURS = env.int("EMAIL_VERIFICATION_TTL_HOURS", default=48)

# django-axes: per-account lockout after repeated failed logins (the throttle is the outer, per-IP layer).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the IP in the lockout key. Per-IP limiting is the `auth` throttle's job here (429 per IP and
# per e-mail); an IP lockout would lock out a whole clinic behind one NAT address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_from_request"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# Successful sign-ins are SecurityEvent rows, which go with the account; axes' own log would keep the address after.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# accounts/admin.py registers axes' admins read-only instead of axes' own, editable ones.
AXES_ENABLE_ADMIN = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- Two-factor authentication (accounts/mfa.py) -----------------------------------------------------------
# Accounts holding one of these roles must turn on MFA: until they do, `login/` gives them only tokens for the MFA
# endpoints (and the Django admin refuses staff without it while `admin` is listed). Empty: nobody is forced.
MFA_REQUIRED_ROLES = [
    role.strip() for role in env.list("MFA_REQUIRED_ROLES", default=["doctor", "admin"]) if role.strip()
]
if set(MFA_REQUIRED_ROLES) - {"user", "doctor", "admin"}:
    raise ImproperlyConfigured("MFA_REQUIRED_ROLES lists roles among user, doctor and admin.")
# The sign-in challenge between `login/` and `login/mfa/`: its lifetime, and the wrong codes that end it.
MFA_CHALLENGE_TTL_SECONDS = env.int("MFA_CHALLENGE_TTL_SECONDS", default=300)
MFA_CHALLENGE_MAX_FAILURES = 5
# The name authenticator apps show beside the account.
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="JEGHealth")

# --- REST framework, JWT, schema ------------------------------------------------------------------------
THROTTLE_RATES = {
    "auth": "10/min",
    "anon": "60/min",
    "user": "2000/hour",
    "device": "600/min",
    # Pairing-code tries per device; the code is also burned after 5 wrong ones (iot_devices.services).
    "device_verify": "5/min",
}
THROTTLE_RATES.update(env.dict("THROTTLE_RATES", default={}))

REST_FRAMEWORK = {
    # simplejwt's authentication, plus the session (`sid`) and enrolment-scope checks of accounts/authentication.py.
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # OPTIONS describes a PUT on a collection route without loading an object (api/metadata.py).
    "DEFAULT_METADATA_CLASS": "jeghealth_backend.api.metadata.Metadata",
    "DEFAULT_RENDERER_CLASSES": ["jeghealth_backend.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["jeghealth_backend.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "jeghealth_backend.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "jeghealth_backend.api.throttling.AnonRateThrottle",
        "jeghealth_backend.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "jeghealth_backend.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "jeghealth_backend.api.schema.EnvelopeAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_LIFETIME_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_LIFETIME_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash: a password change or reset makes every earlier token useless.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
    "CHECK_USER_IS_ACTIVE": True,
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "JEGHealth API",
    "DESCRIPTION": "Health data for the JEGHealth mobile app, web dashboard and IoT devices. "
    'Every error answers the envelope `{"error": {"code", "message", "fields"?}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No web fonts: the ReDoc page (jeghealth_backend/api/templates/api/redoc.html) loads nothing from a CDN.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
                "code": {"fontFamily": "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace"},
            }
        }
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Device key: `Authorization: Api-Key <key>` (or the header `X-API-Key: <key>`).",
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "RoleNameEnum": "accounts.choices.RoleName",
        "GrantRoleEnum": "accounts.choices.GrantRole",
        "OrganizationRoleEnum": "accounts.choices.OrganizationRole",
        "DeviceStatusEnum": "iot_devices.choices.DeviceStatus",
        "BatchStatusEnum": "iot_devices.choices.BatchStatus",
        "HeartbeatStatusEnum": "iot_devices.choices.HeartbeatStatus",
        "HealthStatusEnum": ["ok", "degraded", "error"],
        "MetricTypeEnum": "jeghealth_backend.metric_catalog.METRIC_TYPE_CHOICES",
        "ReportStatusEnum": "reports.choices.ReportStatus",
        # Two choice sets share the field name `severity`: alert severities, and drug interaction severities.
        "SeverityEnum": "notifications.choices.Severity",
        "InteractionSeverityEnum": "medications.choices.Severity",
        "InteractionSideEnum": "medications.choices.InteractionSide",
        "DoseFormEnum": "medications.choices.DoseForm",
        "DoseStatusEnum": "medications.choices.DoseStatus",
        "LoggedDoseStatusEnum": "medications.choices.LoggedStatus",
        # Three choice sets share the field name `format`: imports, reports, and the export's query parameter.
        "ImportFormatEnum": "health_metrics.models.ImportFormat",
        "ReportFormatEnum": "reports.choices.ReportFormat",
        "ImportStatusEnum": "health_metrics.models.ImportStatus",
    },
}

# --- Security, CORS, static -----------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:8081", "http://localhost:3000"])
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-api-key", "x-request-id", "accept", "origin"]
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_URLS_REGEX = r"^/api/.*$"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The TLS proxy in front normally redirects; set it where the app itself sees clients' plain HTTP.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
    # Signed download URLs (reports): SigV4, the one every AWS region and S3-compatible store accepts.
    AWS_S3_SIGNATURE_VERSION = env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4")
    AWS_DEFAULT_ACL = None
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}

# Fernet keys for the encrypted text fields, the first one current; older ones still decrypt (rotation).
# Unset, a key is derived from SECRET_KEY so development needs nothing; a deployment sets its own
# (a deploy check says so).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Once keys are set, the key derived from SECRET_KEY still decrypts (never encrypts) what was written before them,
# until `reencrypt_fields` has moved every row; `reencrypt_fields --check` says when this can be turned off.
FIELD_ENCRYPTION_SECRET_KEY_FALLBACK = env.bool("FIELD_ENCRYPTION_SECRET_KEY_FALLBACK", default=True)

# Any request body over 10 MiB answers 413 (API.md); form uploads are held to the same cap.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Imports of a person's history (health_metrics/imports/): the one upload allowed past the cap above, up to this.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=536870912)
IMPORT_PATH = "/api/v1/health-metrics/imports/"
# Uploads wait for their worker on the storage reports use (the local file system, or S3 when configured).
IMPORT_STORAGE_ALIAS = "default"

# --- Device API keys (iot_devices.keys) -----------------------------------------------------------------------
# Days a device key works after it was issued or rotated (checklist B9); 0: keys never expire. The owner is told
# IOT_API_KEY_WARN_DAYS before, and rotating from the app issues a new key for another lifetime.
IOT_API_KEY_LIFETIME_DAYS = env.int("IOT_API_KEY_LIFETIME_DAYS", default=365)
IOT_API_KEY_WARN_DAYS = 14

# --- IoT ingestion (iot_devices.ingestion) -----------------------------------------------------------------
# A 5,000-reading upload is well under 1 MiB; the batch endpoint answers 413 above this, before parsing.
IOT_BATCH_MAX_BODY_BYTES = env.int("IOT_BATCH_MAX_BODY_BYTES", default=4 * 1024 * 1024)
# Readings per chunk transaction; at most 500 whatever is set (checklist D7: a kill loses little work).
IOT_INGEST_CHUNK_SIZE = env.int("IOT_INGEST_CHUNK_SIZE", default=500)
# A worker owns a batch this long after each committed chunk; past it, a redelivery or the sweeper takes over.
IOT_BATCH_LEASE_SECONDS = env.int("IOT_BATCH_LEASE_SECONDS", default=120)
# Poison guard: a batch claimed more often than this (its workers keep dying) is failed, not retried forever.
IOT_BATCH_MAX_ATTEMPTS = env.int("IOT_BATCH_MAX_ATTEMPTS", default=5)

# --- E-mail ---------------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="JEGHealth <noreply@jeghealth.local>")
# Links in e-mails (verification, password reset) point at the app or web dashboard.
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:8081").rstrip("/")

# --- Notifications ---------------------------------------------------------------------------------------
EXPO_PUSH_URL = env.str("EXPO_PUSH_URL", default="https://exp.host/--/api/v2/push/send")
EXPO_ACCESS_TOKEN = env.str("EXPO_ACCESS_TOKEN", default="")
EXPO_PUSH_TIMEOUT = env.float("EXPO_PUSH_TIMEOUT", default=10.0)
# Checklist A14: messages to emergency contacts (e-mails and SMS together) per person and per contact in any
# 24 hours. The former names, NOTIFICATIONS_CONTACT_EMAILS_…, from when contacts were only e-mailed, still work.
NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY = env.int(
    "NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY", default=env.int("NOTIFICATIONS_CONTACT_EMAILS_PER_DAY", default=10)
)
NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY = env.int(
    "NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY",
    default=env.int("NOTIFICATIONS_CONTACT_EMAILS_PER_CONTACT_PER_DAY", default=3),
)
# SMS to emergency contacts through a provider with Twilio's Messages API; unset SMS_API_URL: no SMS.
SMS_API_URL = env.str("SMS_API_URL", default="")
SMS_API_TOKEN = env.str("SMS_API_TOKEN", default="")  # <user>:<password> for HTTP basic auth
SMS_FROM = env.str("SMS_FROM", default="")
SMS_API_TIMEOUT = env.float("SMS_API_TIMEOUT", default=10.0)
if SMS_API_URL:
    if not SMS_API_URL.startswith(("https://", "http://")):
        raise ImproperlyConfigured("SMS_API_URL must be an http(s) URL.")
    if not SMS_FROM:
        raise ImproperlyConfigured("SMS_FROM is required with SMS_API_URL.")
    if SMS_API_TOKEN and ":" not in SMS_API_TOKEN:
        raise ImproperlyConfigured("SMS_API_TOKEN must be <user>:<password>.")
if not 0 < SMS_API_TIMEOUT <= 60:
    raise ImproperlyConfigured("SMS_API_TIMEOUT must be between 0 and 60 seconds.")

# --- Appointments -----------------------------------------------------------------------------------------
# Telemedicine rooms: `{token}` is replaced by an unguessable token per appointment.
TELEMEDICINE_ROOM_URL_PATTERN = env.str(
    "TELEMEDICINE_ROOM_URL_PATTERN", default="https://meet.jit.si/jeghealth-{token}"
)
if "{token}" not in TELEMEDICINE_ROOM_URL_PATTERN:
    raise ImproperlyConfigured("TELEMEDICINE_ROOM_URL_PATTERN must contain {token}.")
# Hours before an appointment at which the patient is reminded, one notification per offset.
APPOINTMENT_REMINDER_OFFSETS_HOURS = sorted(
    set(env.list("APPOINTMENT_REMINDER_OFFSETS_HOURS", cast=int, default=[24, 1])), reverse=True
)
if any(hours <= 0 for hours in APPOINTMENT_REMINDER_OFFSETS_HOURS):
    raise ImproperlyConfigured("APPOINTMENT_REMINDER_OFFSETS_HOURS must be positive whole hours.")

# --- Alerts -----------------------------------------------------------------------------------------------
# Readings recorded longer ago than this (a backlog, a late offline upload) are flagged but open no episode: one
# digest per upload tells the person instead.
ALERT_MAX_READING_AGE_HOURS = env.float("ALERT_MAX_READING_AGE_HOURS", default=24.0)
# A critical episode not acknowledged this long after the person was told is escalated once, to caregivers with an
# `alerts` grant and emergency contacts with notify_on_critical; until then the person is reminded every
# ALERT_REPEAT_MINUTES, at most three times.
ALERT_ESCALATION_MINUTES = env.float("ALERT_ESCALATION_MINUTES", default=15.0)
ALERT_REPEAT_MINUTES = env.float("ALERT_REPEAT_MINUTES", default=10.0)
if min(ALERT_MAX_READING_AGE_HOURS, ALERT_ESCALATION_MINUTES, ALERT_REPEAT_MINUTES) <= 0:
    raise ImproperlyConfigured(
        "ALERT_MAX_READING_AGE_HOURS, ALERT_ESCALATION_MINUTES and ALERT_REPEAT_MINUTES must be positive."
    )

# --- Medications ------------------------------------------------------------------------------------------
# A scheduled dose not logged this long after its time counts as missed (and the periodic task records it).
MEDICATION_MISSED_GRACE_MINUTES = env.int("MEDICATION_MISSED_GRACE_MINUTES", default=120)
# A dose reminder that could not go out on time (workers down) is still sent up to this long after the dose.
MEDICATION_REMINDER_LOOKBACK_MINUTES = env.int("MEDICATION_REMINDER_LOOKBACK_MINUTES", default=30)

# --- Reports (reports/) ------------------------------------------------------------------------------------
# Generated reports and their files are deleted this many days after they were requested.
REPORT_RETENTION_DAYS = env.int("REPORT_RETENTION_DAYS", default=7)
if REPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("REPORT_RETENTION_DAYS must be at least 1.")

# --- Operations: Sentry and Prometheus (jeghealth_backend/observability.py, jeghealth_backend/metrics/) --------
# Errors go to Sentry only when SENTRY_DSN is set: no personal data, no request bodies, headers or local variables.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production" if not DEBUG else "development")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# /metrics (Prometheus text format) answers only these addresses or networks (the connecting address, never
# X-Forwarded-For); everyone else, and everyone while METRICS_ENABLED is off, gets a 404.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# Where gunicorn's and Celery's processes keep their figures for /metrics to add up (shared by web and worker).
METRICS_DIR = env.str("METRICS_DIR", default=str(BASE_DIR / "var" / "metrics"))

# --- I18N -----------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: one JSON line per event, never health values, passwords or tokens --------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "jeghealth_backend.api.logging.RequestIdFilter"},
        "task_arguments": {"()": "jeghealth_backend.api.logging.TaskArgumentsFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Request lines come from our middleware; Django's own would repeat them (and 4xx are not errors).
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
        "axes": {"level": "WARNING", "propagate": True},
        "celery.app.trace": {"filters": ["task_arguments"], "propagate": True},
    },
}

# Last, so that it sees the final settings; a no-op without SENTRY_DSN.
from jeghealth_backend.observability import sentry_init  # noqa: E402

sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
