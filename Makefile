# The two commands: `make run` serves the API, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
# The newest Python from 3.13 down to 3.11 that runs here (a pyenv shim of a version not selected does not run).
ifndef PYTHON
PYTHON := $(shell for p in python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif
VENV := .venv
PY := $(VENV)/bin/python
# The installs: hash-locked files made by `make lock` from the hand-edited requirements*.txt.
RUNTIME_LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
ENV_PORT := $(shell sed -n 's/^PORT=//p' .env 2>/dev/null | tail -n 1)
PORT ?= $(or $(ENV_PORT),8000)
WEB_CONCURRENCY ?= 2
# The dev server of `make run` keeps its settings in the environment or .env (see .env.example).
export DJANGO_SETTINGS_MODULE ?= jeghealth_backend.settings.base

.PHONY: install install-runtime lock run migrate worker beat test lint format demo clean

define need_python
@test -n "$(PYTHON)" || { echo "Python 3.11, 3.12 or 3.13 is needed (none of python3.13, python3.12, python3.11 runs)"; exit 1; }
endef

# What the server, the worker and beat need (`make run`, `make worker`, `make beat`).
$(VENV)/.installed-runtime: $(RUNTIME_LOCK)
	$(need_python)
	$(PYTHON) tools/venv_install.py $(VENV) $(RUNTIME_LOCK) $@

# That and the test and lint tools (`make test`, `make lint`).
$(VENV)/.installed-dev: $(DEV_LOCK)
	$(need_python)
	$(PYTHON) tools/venv_install.py $(VENV) $(DEV_LOCK) $@

install-runtime: $(VENV)/.installed-runtime

install: $(VENV)/.installed-dev

# Re-resolve the lock files after editing requirements.txt or requirements-dev.txt (needs the network). Resolved
# with Python 3.11, the oldest supported; the dev lock keeps every runtime pin of the runtime lock.
lock:
	python3.11 -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet pip-tools==7.6.2
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --no-emit-trusted-host -o $(RUNTIME_LOCK) requirements.txt
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --no-emit-trusted-host -c $(RUNTIME_LOCK) -o $(DEV_LOCK) requirements-dev.txt
	rm -rf $(VENV)-lock

# Migrations and reference fixtures, serialised across processes (jeghealth_backend/api/management/commands/).
migrate: install-runtime
	@mkdir -p var
	$(PY) manage.py prepare_database

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "JEGHealth API:  http://127.0.0.1:$(PORT)/api/v1/"
	@echo "API docs:       http://127.0.0.1:$(PORT)/api/docs/  (ReDoc: /api/redoc/, schema: /api/schema/)"
	@echo "Django admin:   http://127.0.0.1:$(PORT)/admin/  (make an account: .venv/bin/python manage.py createsuperuser)"
	exec $(VENV)/bin/gunicorn jeghealth_backend.wsgi:application -c gunicorn.conf.py --bind 127.0.0.1:$(PORT)

worker: migrate
	exec $(VENV)/bin/celery -A jeghealth_backend worker --loglevel=INFO --pool=prefork --concurrency=$${CELERY_CONCURRENCY:-2} \
	  --queues=default,ingest,notifications,reports

beat: migrate
	exec $(VENV)/bin/celery -A jeghealth_backend beat --loglevel=INFO

# A demo patient, doctor and admin with 90 days of data (idempotent); prints how to log in.
demo: migrate
	$(PY) manage.py seed_demo

# Two processes (one per core of the reference machine; TEST_PROCESSES=1 runs serially). A test file stays on one
# process (--dist loadfile): its module fixtures (a Redis, a worker, a replica) start once. Each process has its own
# test database (pytest-django) and its own Redis key prefix (settings/test.py).
TEST_PROCESSES ?= 2
test: install
	DJANGO_SETTINGS_MODULE=jeghealth_backend.settings.test $(VENV)/bin/pytest -n $(TEST_PROCESSES) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var db.sqlite3
