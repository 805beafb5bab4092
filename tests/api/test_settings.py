"""Settings: a deployment refuses to start half-configured, and passes Django's deployment checks."""

import subprocess
import sys
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings

from jeghealth_backend.settings import base

PRODUCTION_LIKE = {
    "DEBUG": "0",
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "api.example.org",
    "SECURE_SSL_REDIRECT": "1",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py` in a clean environment: only what a deployment would set, nothing inherited."""
    clean = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "jeghealth_backend.settings.base", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestProductionRefusesDefaults:
    def test_without_secret_key_it_does_not_start(self):
        result = manage("check", DEBUG="0", ALLOWED_HOSTS="api.example.org")

        assert result.returncode != 0
        assert "SECRET_KEY must be set when DEBUG is off" in result.stderr

    def test_without_allowed_hosts_it_does_not_start(self):
        result = manage("check", DEBUG="0", SECRET_KEY=PRODUCTION_LIKE["SECRET_KEY"])

        assert result.returncode != 0
        assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr

    def test_a_production_like_environment_passes_check_deploy(self):
        env = {**PRODUCTION_LIKE, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}

        result = manage("check", "--deploy", "--fail-level", "WARNING", **env)

        assert result.returncode == 0, result.stdout + result.stderr

    def test_check_deploy_asks_for_encryption_keys_of_its_own(self):
        result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_LIKE)

        assert result.returncode != 0
        assert "jeghealth.W001" in result.stdout + result.stderr

    def test_a_malformed_encryption_key_is_an_error(self):
        result = manage("check", "--deploy", **{**PRODUCTION_LIKE, "FIELD_ENCRYPTION_KEYS": "not-a-key"})

        assert result.returncode != 0
        assert "jeghealth.E001" in result.stdout + result.stderr


class TestAuthenticationSettings:
    def test_refresh_tokens_rotate_and_are_blacklisted(self):
        jwt = base.SIMPLE_JWT

        assert "rest_framework_simplejwt.token_blacklist" in base.INSTALLED_APPS
        assert jwt["ROTATE_REFRESH_TOKENS"] and jwt["BLACKLIST_AFTER_ROTATION"]

    def test_access_tokens_are_short_and_revoked_by_a_password_change(self):
        jwt = base.SIMPLE_JWT

        assert jwt["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
        assert jwt["CHECK_REVOKE_TOKEN"] and jwt["CHECK_USER_IS_ACTIVE"]
        assert jwt["ALGORITHM"] == "HS256"

    def test_axes_locks_accounts_and_the_auth_throttle_limits_ips(self):
        """SECURITY-CHECKLIST F6: both layers are configured, each for its own job."""
        assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
        assert base.AXES_FAILURE_LIMIT == 5
        assert timedelta(minutes=15) <= base.AXES_COOLOFF_TIME <= timedelta(minutes=30)
        assert "axes.middleware.AxesMiddleware" in base.MIDDLEWARE
        assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"]

    def test_passwords_need_twelve_characters_and_are_checked_against_common_ones(self):
        names = {validator["NAME"].rsplit(".", 1)[1] for validator in base.AUTH_PASSWORD_VALIDATORS}
        minimum = next(v for v in base.AUTH_PASSWORD_VALIDATORS if v["NAME"].endswith("MinimumLengthValidator"))

        assert {"CommonPasswordValidator", "NumericPasswordValidator", "UserAttributeSimilarityValidator"} <= names
        assert minimum["OPTIONS"]["min_length"] >= 12


class TestRequestLimits:
    def test_bodies_are_capped_at_10_mib(self):
        assert base.MAX_REQUEST_BODY_BYTES == 10 * 1024 * 1024
        assert base.DATA_UPLOAD_MAX_MEMORY_SIZE == base.MAX_REQUEST_BODY_BYTES

    def test_the_size_guard_runs_before_anything_reads_a_body(self):
        middleware = base.MIDDLEWARE

        assert middleware.index("jeghealth_backend.api.middleware.BodySizeLimitMiddleware") < middleware.index(
            "jeghealth_backend.api.middleware.CommonMiddleware"
        )


def _database_option(url: str, replica_url: str = "", alias: str = "default") -> str:
    """The libpq `options` that settings give the connection ALIAS, for the given URLs (a fresh process)."""
    code = f"from jeghealth_backend.settings import base; print(base.DATABASES[{alias!r}]['OPTIONS']['options'])"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "SECRET_KEY": "x" * 50}
    if replica_url:
        env["DATABASE_REPLICA_URL"] = replica_url
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


class TestPostgresConnections:
    # JIT compilation cost ~150 ms on the arbitration query that runs in tens (bench/README.md).
    def test_the_primary_and_the_replica_connect_without_the_jit_compiler(self):
        url, replica = "postgres://u@127.0.0.1:5432/db", "postgres://u@127.0.0.1:5433/db"

        assert _database_option(url) == "-c jit=off"
        assert _database_option(url, replica, alias="replica") == "-c jit=off"

    def test_an_options_string_in_the_url_wins(self):
        url = "postgres://u@127.0.0.1:5432/db?options=-c%20statement_timeout%3D5000"

        assert _database_option(url) == "-c statement_timeout=5000"
