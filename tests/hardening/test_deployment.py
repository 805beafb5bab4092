"""What README's Deployment section says is what the files do: gunicorn.conf.py, the image (Dockerfile,
.dockerignore), compose, `make`'s installs from the lock files, and `.env.example`. There is no Docker engine here:
the files are read and checked against the settings, and .ci/run has Debian's docker-compose validate compose."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
READ_CONFIG = "import json, runpy; c = runpy.run_path('gunicorn.conf.py'); print(json.dumps({k: c[k] for k in %r}))"
KEYS = ["workers", "worker_class", "timeout", "graceful_timeout", "max_requests", "max_requests_jitter"]


def gunicorn_config(folder: Path, **env: str) -> dict:
    """gunicorn.conf.py as gunicorn evaluates it, in FOLDER, with only ENV set."""
    done = subprocess.run(
        [sys.executable, "-c", READ_CONFIG % KEYS],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(BASE_DIR), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def deployment_section() -> str:
    readme = (BASE_DIR / "README.md").read_text()
    return readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def conf_folder(tmp_path) -> Path:
    """A copy of gunicorn.conf.py in a folder of its own, so a test can give it a `.env` of its own."""
    shutil.copy(BASE_DIR / "gunicorn.conf.py", tmp_path / "gunicorn.conf.py")
    return tmp_path


class TestGunicornConfiguration:
    def test_the_defaults_are_those_the_readme_states(self, conf_folder):
        config = gunicorn_config(conf_folder)
        section = " ".join(deployment_section().split())

        assert config == {
            "workers": 2,
            "worker_class": "sync",
            "timeout": 60,
            "graceful_timeout": 30,
            "max_requests": 2000,
            "max_requests_jitter": 200,
        }
        for fact in ("(2 by default", "`GUNICORN_TIMEOUT` (60 s)", "`GUNICORN_GRACEFUL_TIMEOUT` (30 s)", "(2,000,"):
            assert fact in section, fact

    def test_dot_env_sets_them_and_the_environment_wins_over_it(self, conf_folder):
        (conf_folder / ".env").write_text("GUNICORN_TIMEOUT=120\nWEB_CONCURRENCY=3\n")

        config = gunicorn_config(conf_folder, WEB_CONCURRENCY="4")

        assert (config["timeout"], config["workers"]) == (120, 4)

    def test_compose_lets_the_web_container_finish_its_requests_before_killing_it(self, conf_folder):
        web = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]["web"]
        grace = int(re.fullmatch(r"(\d+)s", web["stop_grace_period"]).group(1))

        assert grace > gunicorn_config(conf_folder)["graceful_timeout"]
        assert f"waits {grace} s" in " ".join(deployment_section().split())


class TestMakeRun:
    def test_it_prints_the_urls_of_the_api_the_docs_and_the_admin(self):
        done = subprocess.run(
            ["make", "-n", "run", "PORT=8123"], cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=True
        )

        for url in ("http://127.0.0.1:8123/api/v1/", "http://127.0.0.1:8123/api/docs/", "http://127.0.0.1:8123/admin/"):
            assert url in done.stdout, url
        assert "gunicorn jeghealth_backend.wsgi:application -c gunicorn.conf.py --bind 127.0.0.1:8123" in done.stdout


# --- the image ---------------------------------------------------------------------------------------------------


def dockerignore_excludes(path: str) -> bool:
    """Whether `.dockerignore` keeps PATH (relative to the context) out of the build context, as Docker reads it:
    patterns anchored at the context root, `*` within one path segment, `**` across segments, the last matching
    line wins, `!` re-includes, and a matched directory takes everything under it along."""
    excluded = False
    for line in (BASE_DIR / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = "".join(
            ".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            for part in re.split(r"(\*\*)", pattern)
        )
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[: i + 1])) for i in range(len(parts))):
            excluded = not negate
    return excluded


class TestTheImage:
    @pytest.mark.parametrize(
        "path",
        [".env", ".env.production", ".venv/bin/python", ".git/HEAD", "db.sqlite3", "db.sqlite3-wal",
         "var/media/reports/r.pdf", "var/static/admin/base.css", "accounts/__pycache__/models.cpython-311.pyc"],
    )  # fmt: skip
    def test_dockerignore_keeps_secrets_and_local_state_out(self, path):
        assert dockerignore_excludes(path)

    @pytest.mark.parametrize(
        "path",
        ["manage.py", "gunicorn.conf.py", "requirements.lock", "jeghealth_backend/settings/base.py",
         "fixtures/initial_roles.json", "accounts/templates/accounts/email/verify_email.txt"],
    )  # fmt: skip
    def test_dockerignore_keeps_what_the_image_runs(self, path):
        assert not dockerignore_excludes(path)

    def test_the_image_installs_the_runtime_lock_with_hashes_and_not_the_test_stack(self):
        dockerfile = (BASE_DIR / "Dockerfile").read_text()

        assert "COPY requirements.lock ." in dockerfile
        assert re.search(r"^RUN pip install --require-hashes -r requirements\.lock$", dockerfile, re.MULTILINE)
        assert "requirements-dev" not in dockerfile

    def test_the_image_creates_the_folders_of_the_named_volumes_for_its_user(self):
        dockerfile = (BASE_DIR / "Dockerfile").read_text()

        assert "mkdir -p /app/var/media /app/var/metrics" in dockerfile
        assert "chown -R jeghealth /app/var" in dockerfile


# --- compose -----------------------------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def mounts(service: dict, target: str) -> list[str]:
    return [volume.split(":")[0] for volume in service.get("volumes", []) if volume.split(":")[1] == target]


class TestCompose:
    def test_web_and_worker_share_the_report_files_on_a_named_volume(self):
        spec = compose()
        media = "/app/" + str(Path(settings.MEDIA_ROOT).relative_to(BASE_DIR))
        web, worker = (mounts(spec["services"][name], media) for name in ("web", "worker"))

        assert web and web == worker
        assert web[0] in spec["volumes"]

    def test_web_and_worker_share_the_metrics_folder(self):
        spec = compose()
        folder = "/app/" + str(Path(settings.METRICS_DIR).relative_to(BASE_DIR))
        web, worker = (mounts(spec["services"][name], folder) for name in ("web", "worker"))

        assert web and web == worker
        assert web[0] in spec["volumes"]

    def test_the_migrate_service_prepares_the_database_as_make_run_does(self):
        migrate = compose()["services"]["migrate"]
        done = subprocess.run(["make", "-n", "-B", "run"], cwd=BASE_DIR, capture_output=True, text=True, check=True)

        assert migrate["command"] == "python manage.py prepare_database"
        assert "manage.py prepare_database" in done.stdout

    def test_prepare_database_loads_every_fixture_of_the_project(self):
        from jeghealth_backend.api.management.commands.prepare_database import FIXTURES

        assert sorted(FIXTURES) == sorted(f"fixtures/{p.name}" for p in (BASE_DIR / "fixtures").glob("*.json"))

    def test_every_app_service_waits_for_the_migrations(self):
        services = compose()["services"]

        for name in ("web", "worker", "beat"):
            assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}

    def test_the_file_uses_only_what_compose_1_29_accepts_and_the_readme_says_so(self):
        # Debian 12's docker-compose (1.29.2) refuses env_file entries written as mappings (path/required, 2.24+);
        # .ci/run also has it check the whole file.
        for service in compose()["services"].values():
            env_file = service.get("env_file", [])
            assert all(isinstance(entry, str) for entry in ([env_file] if isinstance(env_file, str) else env_file))
        assert "Compose 1.29 or later" in " ".join(deployment_section().split())


# --- installs ----------------------------------------------------------------------------------------------------


def pins(path: Path) -> dict[str, str]:
    """NAME -> VERSION of every `name==version` line of a requirements or lock file (names normalised)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


def dry_run(*args: str, path: str | None = None) -> str:
    env = {**os.environ, "PATH": path} if path else None
    done = subprocess.run(["make", "-n", "-B", *args], cwd=BASE_DIR, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestLockFiles:
    def test_every_runtime_pin_is_locked_at_its_version(self):
        locked = pins(BASE_DIR / "requirements.lock")

        for name, version in pins(BASE_DIR / "requirements.txt").items():
            assert locked.get(name) == version, f"{name}: run `make lock` after editing requirements.txt"

    def test_every_dev_pin_and_every_runtime_lock_entry_is_in_the_dev_lock(self):
        locked = pins(BASE_DIR / "requirements-dev.lock")

        for name, version in {
            **pins(BASE_DIR / "requirements-dev.txt"),
            **pins(BASE_DIR / "requirements.lock"),
        }.items():
            assert locked.get(name) == version, f"{name}: run `make lock` after editing requirements*.txt"

    @pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
    def test_every_locked_package_carries_its_hashes(self, lock):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (BASE_DIR / lock).read_text().split("\n\n")[-1])

        assert len(entries) > 20
        for entry in entries:
            if "==" in entry:
                assert "--hash=sha256:" in entry, entry.splitlines()[0]


class TestMakeInstalls:
    def test_make_run_installs_the_runtime_lock_and_not_the_test_stack(self):
        out = dry_run("run")

        assert "tools/venv_install.py .venv requirements.lock .venv/.installed-runtime" in out
        assert "requirements-dev" not in out

    def test_make_test_installs_the_dev_lock(self):
        assert "tools/venv_install.py .venv requirements-dev.lock .venv/.installed-dev" in dry_run("test")

    def test_the_installer_uses_pip_s_hash_checking_mode(self):
        assert '"--require-hashes", "-r"' in (BASE_DIR / "tools" / "venv_install.py").read_text()

    @pytest.mark.parametrize("target", ["run", "worker", "beat"])
    def test_each_serving_target_prepares_the_database_under_its_lock(self, target):
        out = dry_run(target)

        assert ".venv/bin/python manage.py prepare_database" in out
        assert "manage.py migrate" not in out

    @pytest.fixture
    def pythons(self, tmp_path):
        """A folder of fake python3.11-3.13 commands; `pythons(ok=...)` makes those named run, the others fail."""
        folder = tmp_path / "bin"
        folder.mkdir()

        def make(*ok: str) -> str:
            for version in ("3.11", "3.12", "3.13"):
                script = folder / f"python{version}"
                body = f'exec {sys.executable} "$@"' if version in ok else "exit 127"
                script.write_text(f"#!/bin/sh\n{body}\n")
                script.chmod(0o755)
            return f"{folder}:/usr/bin:/bin"

        return make

    def test_the_makefile_picks_the_newest_python_from_3_13_down(self, pythons):
        assert "python3.13 tools/venv_install.py" in dry_run("install", path=pythons("3.11", "3.12", "3.13"))

    def test_a_python_that_does_not_run_is_passed_over(self, pythons):
        # A pyenv shim of a version that is not selected exists but does not run.
        assert "python3.12 tools/venv_install.py" in dry_run("install", path=pythons("3.11", "3.12"))

    def test_pyproject_accepts_3_11_to_3_13(self):
        assert 'requires-python = ">=3.11,<3.14"' in (BASE_DIR / "pyproject.toml").read_text()


# --- .env.example ------------------------------------------------------------------------------------------------

DUMP_SETTINGS = """
import json, sys, environ
if sys.argv[1]:
    environ.Env.read_env(sys.argv[1], overwrite=True)  # a copy of it as .env
environ.Env.read_env = classmethod(lambda *args, **kwargs: None)  # and no other .env
from jeghealth_backend.settings import base
print(json.dumps({name: repr(getattr(base, name)) for name in dir(base) if name.isupper()}))
"""


def settings_with(env_file: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", DUMP_SETTINGS, env_file],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(BASE_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


class TestEnvExample:
    def test_a_copy_as_dot_env_keeps_every_embedded_default(self):
        defaults, copied = settings_with(""), settings_with(str(BASE_DIR / ".env.example"))

        assert {name for name in defaults if defaults[name] != copied.get(name)} == set()

    def test_it_lists_every_variable_the_settings_and_gunicorn_read(self):
        example = (BASE_DIR / ".env.example").read_text()
        names = set(
            re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', (BASE_DIR / "jeghealth_backend/settings/base.py").read_text())
        )
        names |= set(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', (BASE_DIR / "gunicorn.conf.py").read_text()))

        assert len(names) > 60
        missing = sorted(name for name in names if not re.search(rf"^#? ?{name}=", example, re.MULTILINE))
        assert missing == []
