"""What README's Deployment section says about gunicorn is what gunicorn.conf.py, compose and `make run` do."""

from __future__ import annotations

import json
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
