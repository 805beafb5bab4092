"""Every Django admin page that shows a person's data writes audit rows naming the people shown, and every admin
delete (one object, or the bulk action) is audited.

The walk below covers every ModelAdmin registered for a model of the apps that hold personal data: a new admin
page there fails `test_every_admin_of_personal_data_is_audited` until it is audited (or listed as holding no
person's data, with the reason), and the walk until it has a maker here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, time, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import checks
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.admin_audit import AuditedAdminMixin
from accounts.models import AuditEvent, AuthSession, CareTeamGrant, Role, SecurityEvent, TotpDevice
from alerts.models import AlertEpisode
from appointments.models import Appointment
from health_metrics.models import HealthMetricSummary
from iot_devices import services as device_services
from iot_devices.models import DeviceDataBatch
from medications.models import DoseLog, DrugInteraction, Medication, MedicationCategory
from medications.services import regimen_create
from notifications.models import NotificationPreference, QuietHours
from notifications.services import notify
from tests.accounts.factories import PASSWORD, DoctorFactory
from tests.alerts.factories import AlertThresholdFactory
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.health_metrics.factories import HealthMetricFactory, TargetFactory
from tests.iot_devices.factories import pair_device
from tests.notifications.factories import EmergencyContactFactory, PushTokenFactory
from tests.notifications.helpers import delivery_of
from tests.reports.factories import ReportFactory

PERSONAL_APPS = {
    "accounts", "alerts", "health_metrics", "iot_devices", "notifications", "appointments", "medications", "reports",
}  # fmt: skip
# Registered admins of those apps that are not audited, and why.
NOT_AUDITED = {
    Role: "reference data: the role names",
    MedicationCategory: "reference data: the medication catalog",
    Medication: "reference data: the medication catalog",
    DrugInteraction: "reference data: the interaction table",
    AuditEvent: "the audit trail itself: read-only, and auditing its reads would fill it with itself",
    SecurityEvent: "the audit trail itself (sign-ins, grant and key changes): read-only",
    CareTeamGrant: "read-only, its one action (revocation) is a security event naming the admin",
    AuthSession: "sign-in sessions, no health data: read-only, and ending one is the person's own DELETE",
    TotpDevice: "who has an authenticator (never its secret): read-only, its one action is a security event",
}


def _device(person):
    return pair_device(person).device


def _regimen(person):
    body = {"name": "Lisinopril", "dosage": 10, "dosage_unit": "mg", "form": "tablet", "frequency": "once_daily"}
    return regimen_create(user=person, data={**body, "start_date": timezone.now().date()}).regimen


def _batch(person):
    return DeviceDataBatch.objects.create(
        device=_device(person), device_batch_id=uuid.uuid4(), received_count=1, payload=[{"metric_type": "heart_rate"}]
    )


def _alert(person):
    device = _device(person)
    device_services.alert_raise(device=device, alert_type="low_battery", severity="warning", message="Low")
    return device.alerts.get()


def _dose(person):
    regimen = _regimen(person)
    return DoseLog.objects.create(regimen=regimen, user=person, scheduled_for=timezone.now(), status="skipped")


def _summary(person):
    return HealthMetricSummary.objects.create(
        user=person, metric_type="heart_rate", period="day", period_start=date(2025, 3, 1), tz_name="UTC", count=1
    )


def _episode(person):
    now = timezone.now()
    return AlertEpisode.objects.create(
        user=person, rule="clinical_threshold", metric_type="heart_rate", severity="warning", opened_at=now,
        last_signal_at=now,
    )  # fmt: skip


def _provider_profile(_person):
    profile = ProviderProfileFactory(doctor=DoctorFactory())
    return profile, profile.doctor


def _appointment(person):
    return AppointmentFactory(patient=person, start_time=timezone.now() + timedelta(days=2))


# model label -> maker(person) answering the object, or (object, its person) when that is someone else.
MAKERS: dict[str, Callable] = {
    "accounts.User": lambda person: person,
    "health_metrics.HealthMetric": lambda person: HealthMetricFactory(user=person),
    "health_metrics.HealthMetricTarget": lambda person: TargetFactory(user=person),
    "health_metrics.HealthMetricSummary": _summary,
    "iot_devices.IoTDevice": _device,
    "iot_devices.DeviceDataBatch": _batch,
    "iot_devices.DeviceAlert": _alert,
    "medications.Regimen": _regimen,
    "medications.DoseLog": _dose,
    "notifications.Notification": lambda person: notify(user=person, category="system", title="Hi", body="Hello"),
    "notifications.NotificationDelivery": lambda person: delivery_of(person, "email"),
    "notifications.PushToken": lambda person: PushTokenFactory(user=person),
    "notifications.EmergencyContact": lambda person: EmergencyContactFactory(user=person),
    "alerts.AlertThreshold": lambda person: AlertThresholdFactory(user=person),
    "alerts.AlertEpisode": _episode,
    "notifications.NotificationPreference": lambda p: NotificationPreference.objects.create(user=p, category="system"),
    "notifications.QuietHours": lambda p: QuietHours.objects.create(user=p, start=time(22), end=time(7)),
    "reports.Report": lambda person: ReportFactory(user=person),
    "appointments.ProviderProfile": _provider_profile,
    "appointments.Appointment": _appointment,
}


def registered() -> dict:
    return {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PERSONAL_APPS
    }


AUDITED = sorted(
    (model._meta.label for model, model_admin in registered().items() if isinstance(model_admin, AuditedAdminMixin))
)


def make(label: str, person):
    made = MAKERS[label](person)
    return made if isinstance(made, tuple) else (made, person)


def url(obj, view: str, *args) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def events(actor, person, **filters):
    return AuditEvent.objects.filter(actor=actor, patient=person, **filters)


class TestCoverage:
    def test_every_admin_of_personal_data_is_audited(self):
        unaudited = {
            model._meta.label
            for model, model_admin in registered().items()
            if not isinstance(model_admin, AuditedAdminMixin) and model not in NOT_AUDITED
        }
        assert unaudited == set()

    def test_every_audited_admin_has_a_maker_for_the_walk(self):
        assert set(AUDITED) - set(MAKERS) == set()

    def test_an_owner_field_that_does_not_reach_a_person_fails_the_system_check(self):
        class Misnamed(AuditedAdminMixin, admin.ModelAdmin):
            audit_owner_field = "regimen"

        (error,) = [e for e in Misnamed(DoseLog, admin.site).check() if e.id == "jeghealth.E010"]
        assert error.level == checks.ERROR


@pytest.mark.django_db
@pytest.mark.parametrize("label", AUDITED)
class TestTheWalk:
    def test_the_changelist_is_audited_for_the_person_shown(self, staff, admin_user, user_a, label):
        obj, person = make(label, user_a)
        model_admin = admin.site._registry[type(obj)]

        assert staff.get(url(obj, "changelist")).status_code == 200

        event = events(admin_user, person, action="read").get()
        assert (event.resource_type, event.resource_id) == (model_admin.resource_type, "")

    def test_the_change_page_is_audited_with_the_objects_id(self, staff, admin_user, user_a, label):
        obj, person = make(label, user_a)

        assert staff.get(url(obj, "change", obj.pk)).status_code == 200

        assert events(admin_user, person, action="read", resource_id=str(obj.pk)).count() == 1

    def test_deleting_one_is_audited(self, staff, admin_user, user_a, label):
        obj, person = make(label, user_a)

        r = staff.post(url(obj, "delete", obj.pk), {"post": "yes"})

        assert r.status_code == 302, r.content[:500]
        assert not type(obj)._default_manager.filter(pk=obj.pk).exists()
        assert_deletion_recorded(admin_user, person, obj)

    def test_the_bulk_delete_action_is_audited(self, staff, admin_user, user_a, label):
        obj, person = make(label, user_a)

        r = staff.post(
            url(obj, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        )

        assert r.status_code == 302, r.content[:500]
        assert not type(obj)._default_manager.filter(pk=obj.pk).exists()
        assert_deletion_recorded(admin_user, person, obj)


def assert_deletion_recorded(actor, person, obj) -> None:
    if obj.pk == person.pk and type(obj) is type(person):
        # A person's audit rows go with the person: their deletion is kept as a security event instead.
        event = SecurityEvent.objects.get(event_type="account_deleted", identifier=str(person.pk))
        assert event.user is None and event.metadata == {"deleted_by": str(actor.pk), "via": "admin"}
        return
    assert events(actor, person, action="delete", resource_id=str(obj.pk)).count() == 1


@pytest.mark.django_db
class TestWhoIsNamed:
    def test_a_changelist_writes_one_row_per_person_shown(self, staff, admin_user, user_a, user_b):
        for person, count in ((user_a, 3), (user_b, 1)):
            HealthMetricFactory.create_batch(count, user=person)

        staff.get("/admin/health_metrics/healthmetric/")

        rows = AuditEvent.objects.filter(actor=admin_user, action="read")
        assert sorted(rows.values_list("patient_id", flat=True)) == sorted([user_a.pk, user_b.pk])

    def test_an_empty_changelist_writes_none(self, staff):
        staff.get("/admin/health_metrics/healthmetric/")

        assert not AuditEvent.objects.exists()

    def test_a_batch_page_is_audited_for_the_devices_owner(self, staff, admin_user, user_a):
        batch = _batch(user_a)

        staff.get(f"/admin/iot_devices/devicedatabatch/{batch.pk}/change/")

        assert events(admin_user, user_a, resource_type="device_batch", resource_id=str(batch.pk)).exists()

    def test_the_user_page_with_the_profile_is_audited_for_the_person(self, staff, admin_user, user_a):
        r = staff.get(f"/admin/accounts/user/{user_a.pk}/change/")

        assert r.status_code == 200 and b"Medical conditions" in r.content
        assert events(admin_user, user_a, resource_type="account", resource_id=str(user_a.pk)).exists()

    def test_a_bulk_delete_of_several_people_names_each(self, staff, admin_user, user_a, user_b):
        readings = [
            HealthMetricFactory(user=user_a),
            HealthMetricFactory(user=user_a),
            HealthMetricFactory(user=user_b),
        ]

        staff.post(
            "/admin/health_metrics/healthmetric/",
            {"action": "delete_selected", "_selected_action": [r.pk for r in readings], "post": "yes"},
        )

        deleted = AuditEvent.objects.filter(actor=admin_user, action="delete")
        assert sorted(deleted.values_list("patient_id", "resource_id")) == sorted(
            (r.user_id, str(r.pk)) for r in readings
        )

    def test_saving_a_change_is_audited_as_an_update(self, staff, admin_user, user_a):
        contact = EmergencyContactFactory(user=user_a)
        page = staff.get(f"/admin/notifications/emergencycontact/{contact.pk}/change/")
        form = page.context["adminform"].form
        data = {name: form[name].value() or "" for name in form.fields}

        r = staff.post(f"/admin/notifications/emergencycontact/{contact.pk}/change/", {**data, "name": "New name"})

        assert r.status_code == 302, r.content[:2000]
        assert events(admin_user, user_a, action="update", resource_id=str(contact.pk)).count() == 1

    def test_an_admin_action_that_changes_rows_is_audited(self, staff, admin_user, user_a):
        device = _device(user_a)

        staff.post("/admin/iot_devices/iotdevice/", {"action": "revoke", "_selected_action": [device.pk]})

        assert events(admin_user, user_a, action="update", resource_type="device", resource_id=str(device.pk)).exists()

    def test_an_admin_reading_their_own_rows_writes_none(self, staff, admin_user):
        HealthMetricFactory(user=admin_user)

        staff.get("/admin/health_metrics/healthmetric/")

        assert not AuditEvent.objects.exists()

    def test_the_person_sees_the_admins_reads_in_their_access_log(self, staff, api, user_a):
        appointment = AppointmentFactory(patient=user_a, start_time=timezone.now() + timedelta(days=1))
        staff.get(f"/admin/appointments/appointment/{appointment.pk}/change/")

        r = api(user_a).get("/api/v1/auth/access-log/")

        assert r.status_code == 200
        assert any(row["resource_type"] == "appointment" for row in r.json()["results"])


@pytest.mark.django_db
def test_deleting_a_doctor_in_the_admin_keeps_their_patients_appointments(staff, user_a):
    doctor = DoctorFactory()
    appointment = AppointmentFactory(patient=user_a, provider=doctor, start_time=timezone.now() + timedelta(days=1))

    r = staff.post(f"/admin/accounts/user/{doctor.pk}/delete/", {"post": "yes"})

    assert r.status_code == 302
    kept = Appointment.objects.get(pk=appointment.pk)
    assert (kept.provider_id, kept.provider_name, kept.status) == (None, doctor.full_name, "cancelled")


@pytest.mark.django_db
def test_adding_a_person_is_audited_as_a_creation(staff, admin_user):
    r = staff.post(
        "/admin/accounts/user/add/",
        {
            "email": "added@example.org",
            "username": "added",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
            "profile-TOTAL_FORMS": "0",
            "profile-INITIAL_FORMS": "0",
            "user_roles-TOTAL_FORMS": "0",
            "user_roles-INITIAL_FORMS": "0",
        },
    )

    assert r.status_code == 302
    added = get_user_model().objects.get(email="added@example.org")
    assert events(admin_user, added, action="create", resource_id=str(added.pk)).count() == 1
