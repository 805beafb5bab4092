"""Demo data for `manage.py seed_demo`: a patient with a believable history, their doctor, and an admin.

Everything is written through the other apps' services, as the API would write it, and every step is idempotent,
so running the command again adds nothing twice: people are found by their fixed e-mail; manual readings carry a
`client_record_id` derived from their type and time (the offline-sync key, so a replay stores nothing); device
uploads carry a `batch_id` derived from their day (a replayed batch is the same batch); targets, regimens,
appointments, the device and the care-team grant are looked up before they are made; dose logs and notifications
have their own unique keys. Values come from a random generator seeded with the day, so a rerun recomputes the
same numbers, and a rerun on a later day only adds the days that are new.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from accounts import services as account_services
from accounts.care_team import care_grant_create, care_grants_visible_to
from accounts.choices import CareScope, RoleName
from accounts.models import Role, User
from appointments import selectors as appointment_selectors
from appointments import services as appointment_services
from appointments.choices import ACTIVE_STATUSES, ParticipantRole
from health_metrics import selectors as metric_selectors
from health_metrics import services as metric_services
from health_metrics.anomalies import anomalies_detect
from iot_devices import ingestion
from iot_devices import selectors as device_selectors
from iot_devices import services as device_services
from medications import selectors as medication_selectors
from medications import services as medication_services
from notifications.services import notify

logger = logging.getLogger(__name__)

PATIENT_EMAIL = "demo.patient@jeghealth.example"
DOCTOR_EMAIL = "demo.doctor@jeghealth.example"
ADMIN_EMAIL = "demo.admin@jeghealth.example"
# The demo accounts' published password (seed_demo refuses to run with DEBUG off unless forced).
DEFAULT_PASSWORD = "Demo-Jeg-Health-2025!"  # noqa: S105
TIMEZONE = "Europe/Paris"
HEIGHT_M = 1.78
WATCH_SERIAL = "DEMO-WATCH-0001"
NAMESPACE = uuid.UUID("7d3f0c1e-5b0a-4f9e-9a51-0f3c2b1d9e42")
BULK_CHUNK = 1000
# Days (counted back from today) with a deliberate out-of-threshold reading, so the demo has flagged readings.
CRISIS_BP_DAYS = (70, 41, 12, 2)
FAST_HEART_DAYS = (30, 5)
LOW_SUGAR_DAYS = (50,)
FEVER_DAYS = (25,)


@dataclass
class SeedResult:
    patient: User
    doctor: User
    admin: User
    password: str
    days: int
    counts: dict[str, int] = field(default_factory=dict)


def seed(*, days: int = 90, password: str = DEFAULT_PASSWORD, now: datetime | None = None) -> SeedResult:
    """Create (or complete) the demo people and the patient's data for the DAYS days up to NOW."""
    now = now or timezone.now()
    for name in RoleName.values:  # reference data `make migrate` loads; a bare database gets it here
        Role.objects.get_or_create(name=name)
    admin = _person(ADMIN_EMAIL, "demo.admin", "Ada", "Admin", password, superuser=True)
    doctor = _person(DOCTOR_EMAIL, "demo.doctor", "Daniel", "Okafor", password)
    account_services.role_grant(user=doctor, role_name=RoleName.DOCTOR, granted_by=admin)
    patient = _person(PATIENT_EMAIL, "demo.patient", "Paula", "Martin", password)
    account_services.profile_update(
        user=patient,
        data={
            "height_cm": Decimal("178.0"),
            "blood_type": "A+",
            "gender": "female",
            "timezone": TIMEZONE,
            "medical_conditions": "Hypertension (stage 1); type 2 diabetes",
            "allergies": "Penicillin",
        },
    )
    patient.date_of_birth = patient.date_of_birth or date(1968, 4, 12)
    patient.save(update_fields=["date_of_birth"])
    appointment_services.provider_profile_update(
        doctor=doctor,
        data={
            "specialty": "Cardiology",
            "clinic_name": "JEGHealth Demo Clinic",
            "clinic_address": "12 rue de la Santé, 75013 Paris",
            "consultation_minutes": 30,
            "timezone": TIMEZONE,
        },
    )
    result = SeedResult(patient=patient, doctor=doctor, admin=admin, password=password, days=days)
    _grant(patient, doctor)
    tz = ZoneInfo(TIMEZONE)
    first_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    result.counts["manual_readings"] = _manual_readings(patient, tz, first_day, days, now)
    result.counts["device_batches"] = _device_history(patient, tz, first_day, days, now)
    _targets(patient, first_day)
    result.counts["dose_logs"] = _medications(patient, tz, first_day, now)
    _appointments(patient, doctor, tz, now)
    notify(
        user=patient,
        category="system",
        title="Welcome to JEGHealth",
        body="Your demo account holds 90 days of readings, a paired smartwatch, medications and appointments.",
        dedupe_key="demo:welcome",
    )
    return result


def _person(email: str, username: str, first: str, last: str, password: str, *, superuser: bool = False) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        candidate = User(email=email, username=username, first_name=first, last_name=last)
        validate_password(password, user=candidate)
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(
            email=email, password=password, username=username, first_name=first, last_name=last, is_email_verified=True
        )
    elif not user.check_password(password):
        # The printed credentials must work: a demo account always has the demo password back.
        validate_password(password, user=user)
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _grant(patient: User, doctor: User) -> None:
    live = care_grants_visible_to(user=patient).filter(patient=patient, grantee=doctor).first()
    if live is None or set(live.scopes) != set(CareScope.values):
        care_grant_create(patient=patient, doctor_email=doctor.email, scopes=list(CareScope.values))


def _rng(*parts) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))  # noqa: S311 - demo values, not secrets


def _at(day: date, hour: int, minute: int, tz) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def _manual_items(day: date, back: int, tz) -> list[dict]:
    """The readings a person types in on DAY (BACK days before today)."""
    r = _rng("manual", day)
    drift = (90 - back) / 90  # slowly rising pressure, slowly falling weight over the quarter
    weight = round(84.5 - 2.5 * drift + r.uniform(-0.4, 0.4), 1)
    items = []
    for hour, minute in ((7, 30), (21, 0)):
        systolic, diastolic = round(124 + 6 * drift + r.gauss(0, 5)), round(80 + 2 * drift + r.gauss(0, 3))
        if back in CRISIS_BP_DAYS and hour == 21:
            systolic, diastolic = 184, 121
        items.append(
            ("blood_pressure", _at(day, hour, minute, tz), {"systolic_value": systolic, "diastolic_value": diastolic})
        )
    items += [
        ("weight", _at(day, 7, 0, tz), {"value": weight}),
        ("blood_sugar", _at(day, 7, 15, tz), {"value": 62 if back in LOW_SUGAR_DAYS else round(r.gauss(108, 8))}),
        ("blood_sugar", _at(day, 13, 45, tz), {"value": round(r.gauss(142, 15))}),
        ("temperature", _at(day, 8, 0, tz), {"value": 38.4 if back in FEVER_DAYS else round(r.gauss(36.6, 0.15), 1)}),
        ("sleep_hours", _at(day, 7, 5, tz), {"value": round(min(9.5, max(4.5, r.gauss(7.0, 0.9))), 1)}),
        ("calories", _at(day, 22, 0, tz), {"value": round(r.gauss(2150, 220))}),
    ]
    if day.weekday() == 6:  # the weekly body composition check, on Sundays
        items += [
            ("bmi", _at(day, 7, 1, tz), {"value": round(weight / HEIGHT_M**2, 1)}),
            ("body_fat_percentage", _at(day, 7, 2, tz), {"value": round(r.gauss(27.5, 0.6), 1)}),
            ("muscle_mass", _at(day, 7, 3, tz), {"value": round(r.gauss(31.0, 0.4), 1)}),
        ]
    return [
        {
            "metric_type": metric_type,
            **values,
            "recorded_at": moment.isoformat(),
            "client_record_id": str(uuid.uuid5(NAMESPACE, f"{metric_type}:{moment.isoformat()}")),
        }
        for metric_type, moment, values in items
    ]


def _manual_readings(patient: User, tz, first_day: date, days: int, now: datetime) -> int:
    items = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        back = days - 1 - offset
        items += [i for i in _manual_items(day, back, tz) if datetime.fromisoformat(i["recorded_at"]) < now]
    created = 0
    for start in range(0, len(items), BULK_CHUNK):
        results = metric_services.metrics_bulk_create(user=patient, items=items[start : start + BULK_CHUNK])
        new_ids = [reading.pk for reading, is_new in results if is_new]
        created += len(new_ids)
        if new_ids:
            # Detection also runs after commit through the broker; running it here makes the flags appear even
            # when no worker is up. It is idempotent (a conditional update flags each reading once).
            anomalies_detect(user_id=patient.pk, metric_ids=new_ids)
    return created


def _watch(patient: User):
    device = device_selectors.device_list(owner=patient).filter(serial_number=WATCH_SERIAL).first()
    if device is None:
        credentials = device_services.device_create(
            owner=patient,
            name="Paula's smartwatch",
            device_type="smartwatch",
            serial_number=WATCH_SERIAL,
            manufacturer="Acme Wearables",
            model="Pulse 2",
            firmware_version="2.4.1",
        )
        device = device_services.device_verify(device=credentials.device, code=credentials.verification_code)
    return device


def _device_history(patient: User, tz, first_day: date, days: int, now: datetime) -> int:
    """One upload a day from the smartwatch: heart rate every two hours, oxygen saturation thrice, the steps."""
    device = _watch(patient)
    batches = 0
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        back = days - 1 - offset
        r = _rng("watch", day)
        readings = []
        for hour in range(0, 24, 2):
            rate = round(r.gauss(64 if hour < 7 else 74, 4))
            if back in FAST_HEART_DAYS and hour == 16:
                rate = 136
            readings.append(("heart_rate", _at(day, hour, 10, tz), rate))
        readings += [("oxygen_saturation", _at(day, h, 20, tz), min(100, round(r.gauss(97, 0.8)))) for h in (9, 15, 21)]
        readings.append(("steps", _at(day, 22, 30, tz), max(800, round(r.gauss(7400, 2300)))))
        payload = [
            {"metric_type": metric_type, "value": value, "recorded_at": moment.isoformat()}
            for metric_type, moment, value in readings
            if moment < now
        ]
        if not payload:
            continue
        batch, created = ingestion.batch_receive(
            device=device, device_batch_id=uuid.uuid5(NAMESPACE, f"{device.pk}:{day.isoformat()}"), readings=payload
        )
        # Also enqueued after commit; processing here makes the readings appear even when no worker is up.
        ingestion.batch_process(batch_pk=batch.pk)
        batches += int(created)
    device_services.device_heartbeat(device=device, battery_level=76, firmware_version="2.4.1", now=now)
    return batches


TARGETS = (
    {"metric_type": "steps", "target_type": "minimum", "target_value": 8000, "period": "daily"},
    {"metric_type": "sleep_hours", "target_type": "minimum", "target_value": 7, "period": "daily"},
    {"metric_type": "blood_pressure", "target_type": "maximum", "target_value": 130, "period": "daily"},
    {"metric_type": "weight", "target_type": "range", "min_value": 78, "max_value": 83, "period": "weekly"},
)


def _targets(patient: User, first_day: date) -> None:
    existing = set(metric_selectors.target_queryset(user=patient).values_list("metric_type", flat=True))
    for target in TARGETS:
        if target["metric_type"] not in existing:
            metric_services.target_create(user=patient, data={**target, "start_date": first_day})


REGIMENS = (
    {
        "name": "lisinopril",
        "dosage": Decimal("10"),
        "dosage_unit": "mg",
        "form": "tablet",
        "frequency": "once_daily",
        "schedule_times": ["08:00"],
        "instructions": "In the morning, with water.",
    },
    {
        "name": "metformin",
        "dosage": Decimal("500"),
        "dosage_unit": "mg",
        "form": "tablet",
        "frequency": "twice_daily",
        "schedule_times": ["08:00", "20:00"],
        "instructions": "With meals.",
    },
)


def _medications(patient: User, tz, first_day: date, now: datetime) -> int:
    """Two regimens started (up to) 60 days ago, and their dose history: mostly taken, a few skipped or missed."""
    started = max(first_day, now.astimezone(tz).date() - timedelta(days=59))
    for spec in REGIMENS:
        if medication_selectors.regimen_list(user=patient).filter(name__iexact=spec["name"], is_active=True).exists():
            continue
        catalog = medication_selectors.medication_list().filter(generic_name__iexact=spec["name"]).first()
        medication_services.regimen_create(
            user=patient,
            data={**spec, "medication": catalog, "name": spec["name"].capitalize(), "start_date": started},
            now=_at(started, 0, 1, tz),
        )
    regimens = {r.pk: r for r in medication_selectors.regimen_list(user=patient).filter(is_active=True)}
    logged = 0
    day = started
    while day <= now.astimezone(tz).date():
        for dose in medication_selectors.doses_for_day(user=patient, day=day, now=now):
            regimen = regimens.get(dose.regimen_id)
            if regimen is None or dose.scheduled_for > now - timedelta(minutes=30):
                continue
            roll = _rng("dose", regimen.name, dose.scheduled_for.isoformat()).random()
            if roll < 0.07:
                continue  # never logged: missed once the grace window passed
            status = "taken" if roll >= 0.12 else "skipped"
            taken_at = dose.scheduled_for + timedelta(minutes=int(roll * 300) % 40) if status == "taken" else None
            _, created = medication_services.dose_log(
                regimen=regimen, scheduled_for=dose.scheduled_for, status=status, taken_at=taken_at, now=now
            )
            logged += int(created)
        day += timedelta(days=1)
    return logged


def _appointments(patient: User, doctor: User, tz, now: datetime) -> None:
    """Two upcoming appointments with the demo doctor: in person in a few days, by video the week after."""
    upcoming = appointment_selectors.appointments_visible_to(
        user=patient, subject=patient, role=ParticipantRole.PATIENT
    ).filter(provider=doctor, status__in=ACTIVE_STATUSES, start_time__gt=now)
    wanted = [(3, "in_person", "Blood pressure follow-up"), (10, "telemedicine", "Review of the 3-month report")]
    for ahead, kind, reason in wanted[upcoming.count() :]:
        today = now.astimezone(tz).date()
        for extra in range(14):
            slots = appointment_selectors.provider_free_slots(
                provider=doctor, day=today + timedelta(days=ahead + extra), now=now
            )
            morning = [s for s in slots if s.start.astimezone(tz).hour >= 10]
            if morning:
                appointment_services.appointment_create(
                    patient=patient,
                    provider_id=doctor.pk,
                    start_time=morning[0].start.astimezone(UTC),
                    appointment_type=kind,
                    reason=reason,
                )
                break
