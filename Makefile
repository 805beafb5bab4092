# The two commands: `make run` serves the API, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ENV_PORT := $(shell sed -n 's/^PORT=//p' .env 2>/dev/null | tail -n 1)
PORT ?= $(or $(ENV_PORT),8000)
WEB_CONCURRENCY ?= 2
# The dev server of `make run` keeps its settings in the environment or .env (see .env.example).
export DJANGO_SETTINGS_MODULE ?= jeghealth_backend.settings.base

.PHONY: install run migrate worker beat test lint format demo clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3.11 -m venv failed: on Debian run 'apt-get install python3.11-venv'"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py loaddata fixtures/initial_roles.json fixtures/medications_categories.json \
	  fixtures/medications_catalog.json fixtures/medications_interactions.json
	$(PY) manage.py collectstatic --noinput --verbosity 0

run: migrate
	@echo "JEGHealth API:  http://127.0.0.1:$(PORT)/api/v1/"
	@echo "API docs:       http://127.0.0.1:$(PORT)/api/docs/  (ReDoc: /api/redoc/, schema: /api/schema/)"
	@echo "Django admin:   http://127.0.0.1:$(PORT)/admin/  (make an account: .venv/bin/python manage.py createsuperuser)"
	exec $(VENV)/bin/gunicorn jeghealth_backend.wsgi:application -c gunicorn.conf.py --bind 127.0.0.1:$(PORT)

worker: migrate
	exec $(VENV)/bin/celery -A jeghealth_backend worker --loglevel=INFO --pool=prefork --concurrency=$${CELERY_CONCURRENCY:-2} \
	  --queues=default,ingest,notifications,reports

beat: migrate
	@mkdir -p var
	exec $(VENV)/bin/celery -A jeghealth_backend beat --loglevel=INFO

# A demo patient, doctor and admin with 90 days of data (idempotent); prints how to log in.
demo: migrate
	$(PY) manage.py seed_demo

test: install
	DJANGO_SETTINGS_MODULE=jeghealth_backend.settings.test $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var db.sqlite3
