"""The admin pages of providers and appointments (audited for the patient), and the appointments in the
person's data export."""

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from appointments.models import AppointmentReschedule

from .conftest import TUESDAY, berlin
from .factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def mine(user_a, provider):
    return AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 10))


class TestAdmin:
    @pytest.mark.parametrize(
        "path",
        [
            "/admin/appointments/appointment/",
            "/admin/appointments/appointment/?status__exact=scheduled&appointment_type__exact=in_person",
            "/admin/appointments/providerprofile/",
            "/admin/appointments/providerprofile/?timezone=Europe%2FBerlin",
        ],
    )
    def test_lists_render_with_filters(self, admin_client, mine, path):
        assert admin_client.get(path).status_code == 200

    def test_viewing_an_appointment_is_audited_for_its_patient(self, admin_client, admin_user, mine, user_a):
        r = admin_client.get(f"/admin/appointments/appointment/{mine.pk}/change/")

        assert r.status_code == 200
        event = AuditEvent.objects.get(patient=user_a, actor=admin_user)
        assert (event.action, event.resource_type, event.resource_id) == ("read", "appointment", str(mine.pk))

    def test_the_provider_page_renders(self, admin_client, provider):
        assert admin_client.get(f"/admin/appointments/providerprofile/{provider.pk}/change/").status_code == 200

    def test_bookings_cannot_be_added_in_the_admin(self, admin_client):
        assert admin_client.get("/admin/appointments/appointment/add/").status_code == 403


class TestExport:
    """On the real clock: orjson refuses freezegun's datetime subclass, which the export's timestamp would be."""

    @pytest.fixture
    def frozen(self, package_clock):
        with package_clock.paused():
            yield

    def test_the_patients_export_holds_their_appointments_and_history(self, client_a, user_a, provider):
        start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
        appointment = AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=start, reason="Knee")
        AppointmentReschedule.objects.create(
            appointment=appointment,
            previous_start_time=start - timedelta(hours=1),
            previous_end_time=start - timedelta(minutes=30),
            new_start_time=start,
            new_end_time=start + timedelta(minutes=30),
        )

        r = client_a.get("/api/v1/auth/export/")

        document = orjson.loads(b"".join(r.streaming_content))
        (row,) = document["appointments"]
        assert row["id"] == str(appointment.pk) and row["reason"] == "Knee" and row["status"] == "scheduled"
        assert row["provider"] == {"id": str(provider.doctor_id), "name": provider.doctor.full_name}
        assert len(row["reschedules"]) == 1
        assert document["provider_profile"] == []

    def test_a_doctors_export_holds_the_provider_profile_but_no_feed_token(self, client_doctor, provider):
        url = client_doctor.get("/api/v1/appointments/calendar/").json()["url"]

        r = client_doctor.get("/api/v1/auth/export/")

        body = b"".join(r.streaming_content)
        document = orjson.loads(body)
        assert document["provider_profile"][0]["clinic_name"] == "Praxis Mitte"
        assert document["appointments"] == []
        assert url.rsplit("/", 1)[1].removesuffix(".ics").encode() not in body
