"""Fixtures of the accounts tests that span every app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from accounts.models import AuditEvent, CareTeamGrant
from notifications.services import notify
from tests.accounts.factories import DoctorFactory
from tests.appointments.factories import AppointmentFactory
from tests.health_metrics.factories import HealthMetricFactory, TargetFactory
from tests.iot_devices.factories import pair_device, reading
from tests.medications.conftest import create_regimen
from tests.notifications.factories import EmergencyContactFactory


@pytest.fixture
def history(user_a, api, django_capture_on_commit_callbacks):
    """One of everything that user_a can have."""
    doctor = DoctorFactory()
    reading_row = HealthMetricFactory(user=user_a, notes="after the run")
    target = TargetFactory(user=user_a)
    watch = pair_device(user_a)
    batch_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        watch.client().post(
            "/api/v1/devices/me/batches/", {"batch_id": batch_id, "readings": [reading()]}, format="json"
        )
        watch.client().post("/api/v1/devices/me/heartbeat/", {"battery_level": 10}, format="json")
    regimen = create_regimen(api(user_a))
    appointment = AppointmentFactory(patient=user_a, start_time=datetime(2031, 5, 6, 9, 0, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        note = notify(user=user_a, category="system", title="Welcome", body="Hello")
    contact = EmergencyContactFactory(user=user_a)
    grant = CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["health_metrics"])
    AuditEvent.objects.create(actor=doctor, patient=user_a, action="read", resource_type="health_metric")
    return {
        "reading": str(reading_row.pk),
        "target": str(target.pk),
        "device": str(watch.device.pk),
        "batch": batch_id,
        "regimen": regimen["id"],
        "appointment": str(appointment.pk),
        "notification": str(note.pk),
        "contact": str(contact.pk),
        "grant": str(grant.pk),
        "watch_key": watch.api_key,
    }
