"""A doctor's triage list, `GET /api/v1/care/patients/`, for 200 patients with a year of readings each.

Run (PostgreSQL, a database of its own that the bench creates and migrates):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_care_bench nice .venv/bin/python bench/care_bench.py

Options: `--patients 200`, `--requests 30`, `--rounds 3`, `--reload` (load the readings again).

Setup, once (kept between runs): one doctor and PATIENTS patients, each granting the doctor every scope; per
patient a year of readings at home-monitoring density, 31 a day: heart rate hourly (24), blood sugar 3 times,
blood pressure twice, weight and the day's steps once (11,315 a patient, 2,263,000 for 200), loaded with
`COPY … FROM STDIN (FORMAT BINARY)`; then their daily rollups (one INSERT … SELECT … GROUP BY, what the rollup
refresh stores), `ANALYZE`, an open alert episode for a third of the patients (critical for a tenth), a
once-daily regimen with a week of dose logs for half, and an upcoming appointment for half.

Each round (medians of the rounds printed), in this process through Django's test client with a real JWT, the
cache off (bench/metrics_settings.py), interleaved:
- **list**: `GET care/patients/` (the first page of 20) and `?limit=200` (every patient on one page), REQUESTS
  each; both compute all 200 rows (the order needs them) and write one audit row per patient shown;
- **reference**: `GET auth/current-user/` as the same doctor: one authenticated request through the same
  middleware, authentication, DRF and envelope, the floor of any endpoint.
It prints the queries of one list request, the median and p95 of each path, and the ratio to the reference.
Goal: list median < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_common import COPY_STATEMENT, COPY_TYPES, ensure_database, source_columns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "bench.metrics_settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "THROTTLE_RATES": "user=1000000/min",
        "MFA_REQUIRED_ROLES": "",
        "LOG_LEVEL": "WARNING",
    }
)

PREFIX = "care-bench-"
UNITS = {"heart_rate": "bpm", "steps": "steps", "weight": "kg", "blood_pressure": "mmHg", "blood_sugar": "mg/dL"}
PER_DAY = 31
BENCH_PASSWORD = "bench-only-passphrase-1"  # noqa: S105 - the bench's own throwaway accounts


def row(user_id, metric_type, moment, value=None, systolic=None, diastolic=None):
    unit = UNITS[metric_type]
    return (
        uuid.uuid4(), user_id, metric_type, value, systolic, diastolic, unit, value, unit,
        moment, "device", None, None, False, "", {}, "ok", False, "", None, moment, *source_columns("home monitor"),
    )  # fmt: skip


def year_of_readings(user_id, end: datetime, rng: random.Random):
    start = (end - timedelta(days=365)).replace(minute=0, second=0, microsecond=0)
    for day in range(365):
        midnight = start + timedelta(days=day)
        for hour in range(24):
            yield row(
                user_id, "heart_rate", midnight + timedelta(hours=hour, minutes=3), value=float(rng.randint(55, 95))
            )
        for hour in (7, 13, 19):
            yield row(
                user_id, "blood_sugar", midnight + timedelta(hours=hour, minutes=10), value=float(rng.randint(80, 160))
            )
        for hour in (7, 20):
            diastolic = rng.randint(70, 90)
            yield row(
                user_id,
                "blood_pressure",
                midnight + timedelta(hours=hour, minutes=20),
                systolic=float(diastolic + rng.randint(30, 50)),
                diastolic=float(diastolic),
            )
        yield row(user_id, "weight", midnight + timedelta(hours=7, minutes=5), value=round(rng.uniform(60, 95), 1))
        yield row(user_id, "steps", midnight + timedelta(hours=23, minutes=50), value=float(rng.randint(2000, 12000)))


DAILY_ROLLUPS = """
INSERT INTO health_metrics_healthmetricsummary
    (user_id, metric_type, period, period_start, tz_name, count, min, max, sum, systolic_min, systolic_max,
     systolic_sum, diastolic_min, diastolic_max, diastolic_sum, computed_at)
SELECT user_id, metric_type, 'daily', (recorded_at AT TIME ZONE 'UTC')::date, 'UTC', count(*), min(value),
       max(value), sum(value), min(systolic_value), max(systolic_value), sum(systolic_value), min(diastolic_value),
       max(diastolic_value), sum(diastolic_value), now()
FROM health_metrics_healthmetric WHERE user_id = ANY(%s) AND quality = 'ok'
GROUP BY user_id, metric_type, (recorded_at AT TIME ZONE 'UTC')::date
"""


def load(args, now: datetime) -> None:
    from django.db import connection

    from accounts.models import CareTeamGrant, Role, User, UserRole
    from alerts.models import AlertEpisode
    from appointments.models import Appointment

    User.objects.filter(email__startswith=PREFIX).delete()
    doctor = User.objects.create_user(
        email=f"{PREFIX}doctor@example.org", username=f"{PREFIX}doctor", password=BENCH_PASSWORD
    )
    UserRole.objects.get_or_create(user=doctor, role=Role.objects.get_or_create(name="doctor")[0])
    patients = [
        User.objects.create_user(
            email=f"{PREFIX}{n}@example.org",
            username=f"{PREFIX}{n}",
            password=BENCH_PASSWORD,
            first_name=f"Patient {n}",
        )
        for n in range(args.patients)
    ]
    CareTeamGrant.objects.bulk_create(
        [
            CareTeamGrant(patient=p, grantee=doctor, scopes=["alerts", "appointments", "health_metrics", "medications"])
            for p in patients
        ]
    )
    rng = random.Random(19)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection
    for patient in patients:
        with raw.cursor() as cursor, cursor.copy(COPY_STATEMENT) as copy:
            copy.set_types(COPY_TYPES)
            for values in year_of_readings(patient.pk, now, rng):
                copy.write_row(values)
    raw.commit()
    print(f"loaded {args.patients * 365 * PER_DAY:,} readings with COPY in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute(DAILY_ROLLUPS, [[p.pk for p in patients]])
        cursor.execute("ANALYZE health_metrics_healthmetric")
        cursor.execute("ANALYZE health_metrics_healthmetricsummary")
    for n, patient in enumerate(patients):
        if n % 3 == 0:
            severity = "critical" if n % 10 == 0 else "warning"
            AlertEpisode.objects.create(
                user=patient, rule="clinical_threshold", metric_type="heart_rate", severity=severity,
                opened_at=now, last_signal_at=now,
            )  # fmt: skip
        if n % 2 == 0:
            start = now + timedelta(days=1, minutes=30 * n)
            Appointment.objects.create(
                patient=patient, provider=doctor, provider_name="Dr Bench", appointment_type="in_person",
                start_time=start, end_time=start + timedelta(minutes=30),
            )  # fmt: skip


def ensure_regimens(patients, now: datetime) -> None:
    """A once-daily regimen with most of the last week's doses logged, for every other patient (once)."""
    from medications.models import DoseLog, Regimen

    rng = random.Random(21)
    for patient in patients[::2]:
        if Regimen.objects.filter(user=patient).exists():
            continue
        regimen = client_for(patient).post(
            "/api/v1/medications/",
            {
                "name": "Lisinopril",
                "dosage": 10,
                "dosage_unit": "mg",
                "form": "tablet",
                "frequency": "once_daily",
                "start_date": (now - timedelta(days=30)).date().isoformat(),
            },
            format="json",
        )
        assert regimen.status_code == 201, regimen.content
        DoseLog.objects.bulk_create(
            [
                DoseLog(
                    user=patient,
                    regimen_id=regimen.json()["id"],
                    scheduled_for=(now - timedelta(days=d)).replace(hour=8, minute=0, second=0, microsecond=0),
                    status="taken",
                    taken_at=now - timedelta(days=d),
                )
                for d in range(1, 7)
                if rng.random() < 0.8
            ]
        )


def client_for(user):
    """Django's test client sending `Authorization: Bearer <access>` for USER, as the app does."""
    from rest_framework.test import APIClient

    from accounts.services import tokens_for_user

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")
    return client


def timed(client, path: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path)
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.content[:300]
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (see the docstring).")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import AuditEvent, User

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    doctor = User.objects.filter(email=f"{PREFIX}doctor@example.org").first()
    if args.reload or doctor is None or User.objects.filter(email__startswith=PREFIX).count() != args.patients + 1:
        load(args, now)
        doctor = User.objects.get(email=f"{PREFIX}doctor@example.org")
    ensure_regimens(list(User.objects.filter(email__startswith=PREFIX).exclude(pk=doctor.pk).order_by("email")), now)
    readings = connection.cursor()
    readings.execute("SELECT count(*) FROM health_metrics_healthmetric WHERE user_id IN "
                     "(SELECT id FROM accounts_user WHERE email LIKE %s)", [f"{PREFIX}%"])  # fmt: skip
    print(f"{args.patients} patients, {readings.fetchone()[0]:,} readings ({PER_DAY} a day each for a year)")

    client = client_for(doctor)
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/api/v1/care/patients/?limit=200")
    assert first.json()["count"] == args.patients
    print(f"queries of one list request: {len(queries)}")

    results: dict[str, list[float]] = {"page of 20": [], "limit=200": [], "reference current-user/": []}
    medians: dict[str, list[float]] = {name: [] for name in results}
    for _ in range(args.rounds):
        for name, path in (
            ("page of 20", "/api/v1/care/patients/"),
            ("limit=200", "/api/v1/care/patients/?limit=200"),
            ("reference current-user/", "/api/v1/auth/current-user/"),
        ):
            samples = timed(client, path, args.requests)
            results[name].extend(samples)
            medians[name].append(statistics.median(samples))
        AuditEvent.objects.filter(actor=doctor).delete()

    reference = statistics.median(medians["reference current-user/"])
    print(f"{'path':<26}{'median ms':>10}{'p95 ms':>10}{'x reference':>13}")
    for name, samples in results.items():
        median = statistics.median(medians[name])
        print(f"{name:<26}{median * 1000:>10.1f}{p95(samples) * 1000:>10.1f}{median / reference:>13.1f}")
    verdict = "met" if statistics.median(medians["page of 20"]) < 0.100 else "NOT met"
    print(f"goal: list median < 100 ms: {verdict}")


if __name__ == "__main__":
    main()
