# The JEGHealth API image: gunicorn serving Django; the same image runs the Celery worker and beat.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=jeghealth_backend.settings.base

WORKDIR /app
# Exactly the locked versions and files (hashes), as `make run` installs them; the test stack stays out.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

# .dockerignore keeps .env (secrets), .venv, .git, db.sqlite3 and var/ out of the image.
COPY . .
# The named volumes of compose (media, metrics) take their owner from these folders when first mounted.
RUN useradd --system --uid 10001 --home /app jeghealth \
    && mkdir -p /app/var/media /app/var/metrics \
    && DEBUG=1 python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R jeghealth /app/var
USER jeghealth

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health/', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "jeghealth_backend.wsgi:application", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
