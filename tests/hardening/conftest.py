"""Fixtures of the hardening tests: one of every object a person can own, addressed the way the API routes name it,
and the OpenAPI schema the service publishes."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signals
from django.db import close_old_connections

from accounts.models import AuthSession, CareTeamGrant, Organization, OrganizationMembership
from accounts.sessions import session_start
from alerts.models import AlertEpisode
from appointments.services import calendar_feed_token
from health_metrics.models import ImportJob
from medications.models import DrugInteraction, Medication, MedicationCategory
from notifications.services import notify
from tests.accounts.factories import DoctorFactory
from tests.alerts.factories import AlertThresholdFactory
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.conftest import client_for
from tests.health_metrics.factories import HealthMetricFactory, TargetFactory
from tests.iot_devices.factories import Paired, pair_device, reading
from tests.medications.conftest import create_regimen
from tests.notifications.factories import EmergencyContactFactory
from tests.reports.factories import ReportFactory

from .routes import published_schema


@pytest.fixture(scope="session")
def openapi() -> dict:
    """The schema `/api/schema/` serves."""
    return published_schema()


@dataclass
class World:
    """One of everything OWNER has, by the OpenAPI path template that addresses it (`{id}`-style parameters)."""

    owner: object
    doctor: object
    watch: Paired
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def path(self, template: str) -> str:
        """TEMPLATE with this world's object ids in place of its parameters."""
        return template.format(**self.ids[template])


def build_world(owner, django_capture_on_commit_callbacks) -> World:
    """OWNER's reading, target, device with a batch and an alert, regimen, appointment, notification, emergency
    contact, alert threshold, care-team grant, report and calendar feed, and a drug interaction, made through
    services or factories."""
    doctor = DoctorFactory()
    ProviderProfileFactory(doctor=doctor)
    watch = pair_device(owner)
    batch_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        r = watch.client().post(
            "/api/v1/devices/me/batches/", {"batch_id": batch_id, "readings": [reading()]}, format="json"
        )
        assert r.status_code == 202, r.content
        batch_pk = r.json()["id"]
        r = watch.client().post("/api/v1/devices/me/heartbeat/", {"battery_level": 5}, format="json")
        assert r.status_code == 200, r.content
    alert = watch.device.alerts.get()
    reading_row = HealthMetricFactory(user=owner, notes="after the run")
    target = TargetFactory(user=owner)
    history_import = ImportJob.objects.create(user=owner, format="fhir", status="completed")
    regimen = create_regimen(client_for(owner))
    appointment = AppointmentFactory(
        patient=owner, provider=doctor, start_time=datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    )
    with django_capture_on_commit_callbacks(execute=True):
        note = notify(user=owner, category="system", title="Welcome", body="Hello")
    # Reachable by phone only, so its `email` answers "" (issue 17 point 10: the schema must allow it).
    contact = EmergencyContactFactory(user=owner, email="", phone_number="+33 6 12 34 56 78")
    threshold = AlertThresholdFactory(user=owner)
    grant = CareTeamGrant.objects.create(patient=owner, grantee=doctor, scopes=["health_metrics"])
    report = ReportFactory(user=owner)
    now = datetime.now(UTC)
    episode = AlertEpisode.objects.create(
        user=owner,
        rule="clinical_threshold",
        metric_type="heart_rate",
        severity="warning",
        opened_at=now,
        last_signal_at=now,
    )
    calendar_token = calendar_feed_token(user=owner)
    session_start(user=owner)
    session = AuthSession.objects.filter(user=owner).latest("created_at")
    category, _ = MedicationCategory.objects.get_or_create(slug="cardiovascular", defaults={"name": "Cardiovascular"})
    medication, _ = Medication.objects.get_or_create(
        generic_name="lisinopril",
        defaults={"atc_code": "C09AA03", "category": category, "pharmacological_class": "ACE inhibitor",
                  "ingredients": ["lisinopril"]},
    )  # fmt: skip
    # A rule that cites no URL, so the interaction list answers `source_url: ""` (issue 17 point 10).
    DrugInteraction.objects.get_or_create(
        a_kind="ingredient", a_value="lisinopril", b_kind="ingredient", b_value="spironolactone",
        defaults={"severity": "major", "description": "Risk of hyperkalaemia.", "source": "Test", "source_url": ""},
    )  # fmt: skip
    device = {"id": str(watch.device.pk)}
    # A clinic the owner runs (a clinic admin; made directly, as the API lets only doctors and admins create one).
    clinic = Organization.objects.create(name="Owner's clinic", created_by=owner)
    admin_seat = OrganizationMembership.objects.create(organization=clinic, user=owner, role="clinic_admin")
    world = World(owner=owner, doctor=doctor, watch=watch)
    world.ids = {
        "/api/v1/organizations/{id}/": {"id": str(clinic.pk)},
        "/api/v1/organizations/{id}/members/": {"id": str(clinic.pk)},
        "/api/v1/organizations/{id}/members/{member_id}/": {"id": str(clinic.pk), "member_id": str(admin_seat.pk)},
        "/api/v1/alerts/{id}/": {"id": str(episode.pk)},
        "/api/v1/alerts/{id}/acknowledge/": {"id": str(episode.pk)},
        "/api/v1/appointments/{id}/": {"id": str(appointment.pk)},
        "/api/v1/appointments/{id}/cancel/": {"id": str(appointment.pk)},
        "/api/v1/appointments/{id}/complete/": {"id": str(appointment.pk)},
        "/api/v1/appointments/{id}/confirm/": {"id": str(appointment.pk)},
        "/api/v1/appointments/{id}/no-show/": {"id": str(appointment.pk)},
        "/api/v1/appointments/{id}/reschedule/": {"id": str(appointment.pk)},
        "/api/v1/appointments/calendar/{token}.ics": {"token": calendar_token},
        "/api/v1/appointments/providers/{id}/availability/": {"id": str(doctor.pk)},
        "/api/v1/appointments/providers/{id}/schedule/": {"id": str(doctor.pk)},
        "/api/v1/auth/care-team/{id}/": {"id": str(grant.pk)},
        "/api/v1/auth/sessions/{id}/": {"id": str(session.pk)},
        "/api/v1/auth/users/{user_id}/roles/": {"user_id": str(owner.pk)},
        "/api/v1/devices/{device_pk}/batches/": {"device_pk": device["id"]},
        "/api/v1/devices/{device_pk}/batches/{id}/": {"device_pk": device["id"], "id": batch_pk},
        "/api/v1/devices/{id}/": device,
        "/api/v1/devices/{id}/deactivate/": device,
        "/api/v1/devices/{id}/rotate-key/": device,
        "/api/v1/devices/alerts/{id}/resolve/": {"id": str(alert.pk)},
        "/api/v1/health-metrics/{id}/": {"id": str(reading_row.pk)},
        "/api/v1/health-metrics/targets/{id}/": {"id": str(target.pk)},
        "/api/v1/health-metrics/targets/{id}/progress/": {"id": str(target.pk)},
        "/api/v1/health-metrics/imports/{id}/": {"id": str(history_import.pk)},
        "/api/v1/medications/{id}/": {"id": regimen["id"]},
        "/api/v1/medications/{id}/log/": {"id": regimen["id"]},
        "/api/v1/medications/catalog/{id}/": {"id": str(medication.pk)},
        "/api/v1/medications/categories/{id}/": {"id": str(category.pk)},
        "/api/v1/notifications/{id}/": {"id": str(note.pk)},
        "/api/v1/notifications/{id}/read/": {"id": str(note.pk)},
        "/api/v1/notifications/alert-thresholds/{id}/": {"id": str(threshold.pk)},
        "/api/v1/notifications/emergency-contacts/{id}/": {"id": str(contact.pk)},
        "/api/v1/reports/{id}/": {"id": str(report.pk)},
        "/api/v1/reports/{id}/download/": {"id": str(report.pk)},
    }
    return world


@pytest.fixture
def world_a(user_a, django_capture_on_commit_callbacks) -> World:
    return build_world(user_a, django_capture_on_commit_callbacks)


@contextlib.contextmanager
def wsgi_in_test_transaction():
    """Lets a WSGI call (not Django's test client) run inside the test's transaction.

    Django's handler closes stale connections at the start and end of every request, which inside the test's
    atomic block would throw the transaction away (on PostgreSQL; SQLite's in-memory database ignores the close).
    The test client disconnects the same handler around each of its requests, and connects it again after.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


class LeakGuard:
    """Every response body an APIClient receives in a test, and the strings none of them may hold."""

    # Prefixes of Django's password hashes (argon2, the md5 of the test settings, pbkdf2, scrypt).
    HASH_MARKERS = ("argon2$", "md5$", "pbkdf2_sha256$", "pbkdf2_sha1$", "scrypt$")

    def __init__(self) -> None:
        self.bodies: list[tuple[object, str, bytes]] = []
        self.forbidden: dict[object, set[str]] = {}

    def forbid(self, *values: str, to=None) -> None:
        """VALUES may appear in no answer to the person TO (a user), or in no answer at all (TO None)."""
        key = getattr(to, "pk", None)
        self.forbidden.setdefault(key, set()).update(str(v) for v in values if v)

    def record(self, caller, where: str, body: bytes) -> None:
        self.bodies.append((getattr(caller, "pk", None), where, body))

    @staticmethod
    def stored_secrets() -> set[str]:
        """What the database holds that no answer may: password hashes, device key and pairing-code hashes,
        calendar token digests."""
        from accounts.models import MfaChallenge, RecoveryCode, User
        from appointments.models import CalendarFeed
        from iot_devices.models import IoTDevice

        secrets = {p for p in User.objects.values_list("password", flat=True) if p and not p.startswith("!")}
        for key_hash, code_hash in IoTDevice.objects.values_list("key_hash", "verification_code_hash"):
            secrets.update({key_hash, code_hash})
        secrets.update(CalendarFeed.objects.values_list("token_hash", flat=True))
        secrets.update(RecoveryCode.objects.values_list("code_hash", flat=True))
        secrets.update(MfaChallenge.objects.values_list("token_hash", flat=True))
        return {s for s in secrets if s}

    def leaks(self) -> list[str]:
        everywhere = {*self.HASH_MARKERS, *self.forbidden.get(None, set()), *self.stored_secrets()}
        found = []
        for caller, where, body in self.bodies:
            for needle in everywhere | self.forbidden.get(caller, set()):
                if needle.encode() in body:
                    found.append(f"{where}: {needle[:24]}…")
        return found


@pytest.fixture
def leak_guard(db, monkeypatch) -> LeakGuard:
    """Records every APIClient answer of the test; at its end, none may hold a stored secret or a string
    forbidden to its caller (`leak_guard.forbid(..., to=user)`, e.g. another person's e-mail address)."""
    from rest_framework.test import APIClient

    guard = LeakGuard()
    original = APIClient.request

    def recording(self, **kwargs):
        response = original(self, **kwargs)
        where = f"{kwargs.get('REQUEST_METHOD')} {kwargs.get('PATH_INFO')}"
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content)
            response.streaming_content = [body]
        else:
            body = response.content
        guard.record(getattr(self, "user", None), where, body)
        return response

    monkeypatch.setattr(APIClient, "request", recording)
    yield guard
    leaks = guard.leaks()
    assert not leaks, f"answers hold secrets or other people's data: {leaks[:10]}"


class OutboundGuard:
    """Fails any network connection the code under test opens, except to the service's own Redis."""

    def __init__(self, allowed: set[tuple[str, int]]) -> None:
        self.allowed = allowed
        self.attempts: list[str] = []

    def check(self, address) -> None:
        if isinstance(address, (str, bytes)):  # a Unix socket (a local PostgreSQL or Redis)
            return
        host, port = address[0], int(address[1])
        if (host, port) not in self.allowed:
            self.attempts.append(f"{host}:{port}")
            raise ConnectionRefusedError(f"outbound connection to {host}:{port} during an SSRF test")


@pytest.fixture
def outbound_guard(monkeypatch, settings) -> OutboundGuard:
    """No socket connects anywhere but to Redis (cache, broker), and urllib opens nothing, for the test."""
    import socket
    import urllib.request
    from urllib.parse import urlsplit

    allowed: set[tuple[str, int]] = set()
    if settings.REDIS_URL:
        parts = urlsplit(settings.REDIS_URL)
        for info in socket.getaddrinfo(parts.hostname, parts.port or 6379, proto=socket.IPPROTO_TCP):
            allowed.add((info[4][0], info[4][1]))
    guard = OutboundGuard(allowed)
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create = socket.create_connection

    def connect(sock, address):
        guard.check(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        guard.check(address)
        return real_connect_ex(sock, address)

    def create_connection(address, *args, **kwargs):
        guard.check(address)
        return real_create(address, *args, **kwargs)

    def urlopen(url, *args, **kwargs):
        guard.attempts.append(f"urlopen {getattr(url, 'full_url', url)}")
        raise ConnectionRefusedError("urlopen during an SSRF test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return guard
