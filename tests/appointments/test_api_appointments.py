"""List, detail and PATCH: who sees which appointments, filters, grants, and what PATCH may change."""

import pytest
from django.db import connection

from accounts.models import AuditEvent
from appointments.choices import AppointmentStatus
from appointments.models import Appointment

from .conftest import MONDAY, NEXT_MONDAY, TUESDAY, URL, berlin, grant
from .factories import AppointmentFactory, ProviderProfileFactory


def ids(response) -> list[str]:
    return [a["id"] for a in response.json()["results"]]


@pytest.fixture
def mine(user_a, provider):
    """user_a's appointment with the provider on Tuesday 10:00."""
    return AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 10))


@pytest.mark.django_db
class TestList:
    def test_patient_sees_their_own_only(self, client_a, mine, user_b, provider):
        AppointmentFactory(patient=user_b, provider=provider.doctor, start_time=berlin(TUESDAY, 11))

        r = client_a.get(URL)

        assert r.status_code == 200
        assert ids(r) == [str(mine.pk)]
        row = r.json()["results"][0]
        assert row["provider_name"] == provider.doctor.full_name and row["provider_timezone"] == "Europe/Berlin"
        assert row["reason"] == "Follow-up" and row["reschedules"] == []

    def test_doctor_sees_the_ones_with_them(self, client_doctor, mine, user_b, provider):
        theirs = AppointmentFactory(patient=user_b, provider=provider.doctor, start_time=berlin(TUESDAY, 11))
        AppointmentFactory(start_time=berlin(TUESDAY, 12))

        assert ids(client_doctor.get(URL)) == [str(mine.pk), str(theirs.pk)]

    def test_a_doctor_who_is_also_a_patient_can_narrow_by_role(self, client_doctor, doctor, mine):
        own = AppointmentFactory(patient=doctor, start_time=berlin(TUESDAY, 15))

        assert ids(client_doctor.get(URL)) == [str(mine.pk), str(own.pk)]
        assert ids(client_doctor.get(URL, {"role": "patient"})) == [str(own.pk)]
        assert ids(client_doctor.get(URL, {"role": "provider"})) == [str(mine.pk)]

    def test_filters_by_status_and_provider(self, client_a, user_a, mine):
        other = ProviderProfileFactory()
        cancelled = AppointmentFactory(
            patient=user_a, provider=other.doctor, start_time=berlin(TUESDAY, 12), status=AppointmentStatus.CANCELLED
        )

        assert ids(client_a.get(URL, {"status": "cancelled"})) == [str(cancelled.pk)]
        assert ids(client_a.get(URL, {"provider": str(other.doctor_id)})) == [str(cancelled.pk)]

    def test_date_filters_are_days_of_my_calendar(self, client_a, user_a, provider):
        user_a.profile.timezone = "America/New_York"
        user_a.profile.save()
        # Tuesday 00:30 in Berlin is still Monday evening in New York.
        late = AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 0, 30))
        later = AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, 10))

        assert ids(client_a.get(URL, {"start_date": "2025-03-24", "end_date": "2025-03-24"})) == [str(late.pk)]
        assert ids(client_a.get(URL, {"start_date": "2025-03-25"})) == [str(later.pk)]

    def test_ordering_by_start_time_descending(self, client_a, user_a, mine, provider):
        next_week = AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(NEXT_MONDAY, 9))

        assert ids(client_a.get(URL, {"ordering": "-start_time"})) == [str(next_week.pk), str(mine.pk)]

    def test_invalid_filter_answers_400_in_the_envelope(self, client_a):
        r = client_a.get(URL, {"status": "maybe"})

        assert r.status_code == 400 and "status" in r.json()["error"]["fields"]

    def test_is_paginated(self, client_a, user_a, provider):
        for hour in (9, 10, 11):
            AppointmentFactory(patient=user_a, provider=provider.doctor, start_time=berlin(TUESDAY, hour))

        body = client_a.get(URL, {"limit": 2}).json()

        assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]

    def test_query_count_does_not_grow_with_the_rows(self, client_a, user_a, django_assert_max_num_queries):
        for hour in range(9, 15):
            AppointmentFactory(
                patient=user_a, provider=ProviderProfileFactory().doctor, start_time=berlin(TUESDAY, hour)
            )

        with django_assert_max_num_queries(6):
            r = client_a.get(URL)
        assert r.json()["count"] == 6

    def test_anonymous_gets_401(self, anon):
        assert anon.get(URL).status_code == 401


@pytest.mark.django_db
class TestDoctorWithAGrant:
    def test_sees_the_patients_appointments_with_any_provider_and_is_audited(self, api, user_a, mine):
        elsewhere = AppointmentFactory(patient=user_a, start_time=berlin(TUESDAY, 14))
        doctor = elsewhere.provider
        grant(user_a, doctor)

        r = api(doctor).get(URL, {"patient": str(user_a.pk)})

        assert r.status_code == 200
        assert set(ids(r)) == {str(mine.pk), str(elsewhere.pk)}
        event = AuditEvent.objects.get(patient=user_a, actor=doctor)
        assert (event.action, event.resource_type) == ("read", "appointment")

    def test_reading_one_is_audited_with_its_id(self, api, user_a, mine):
        doctor = ProviderProfileFactory().doctor
        grant(user_a, doctor)

        assert api(doctor).get(f"{URL}{mine.pk}/", {"patient": str(user_a.pk)}).status_code == 200
        assert AuditEvent.objects.get(patient=user_a, actor=doctor).resource_id == str(mine.pk)

    def test_without_a_grant_answers_404(self, api, user_a, mine):
        doctor = ProviderProfileFactory().doctor

        r = api(doctor).get(URL, {"patient": str(user_a.pk)})

        assert r.status_code == 404
        assert not AuditEvent.objects.exists()

    def test_a_grant_of_another_scope_answers_404(self, api, user_a, mine):
        doctor = ProviderProfileFactory().doctor
        grant(user_a, doctor, scopes=["health_metrics"])

        assert api(doctor).get(URL, {"patient": str(user_a.pk)}).status_code == 404

    def test_a_revoked_grant_answers_404_at_once(self, api, user_a, mine, frozen):
        doctor = ProviderProfileFactory().doctor
        g = grant(user_a, doctor)
        g.revoked_at = berlin(MONDAY, 6)
        g.save()

        assert api(doctor).get(URL, {"patient": str(user_a.pk)}).status_code == 404

    def test_cannot_book_for_the_patient(self, api, user_a, provider):
        doctor = ProviderProfileFactory().doctor
        grant(user_a, doctor)
        body = {"provider": str(provider.doctor_id), "start_time": berlin(TUESDAY, 10).isoformat()}

        r = api(doctor).post(f"{URL}?patient={user_a.pk}", {**body, "appointment_type": "phone"}, format="json")

        assert r.status_code == 403
        assert not Appointment.objects.exists()


@pytest.mark.django_db
class TestDetail:
    def test_patient_and_doctor_read_it(self, client_a, client_doctor, mine):
        for client in (client_a, client_doctor):
            r = client.get(f"{URL}{mine.pk}/")
            assert r.status_code == 200 and r.json()["id"] == str(mine.pk)

    def test_another_patient_gets_404(self, client_b, mine):
        r = client_b.get(f"{URL}{mine.pk}/")

        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    def test_another_doctor_gets_404(self, api, mine):
        assert api(ProviderProfileFactory().doctor).get(f"{URL}{mine.pk}/").status_code == 404

    def test_unknown_id_gets_404(self, client_a):
        assert client_a.get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.django_db
class TestPatch:
    def test_patient_changes_the_reason(self, client_a, mine):
        r = client_a.patch(f"{URL}{mine.pk}/", {"reason": "Back pain"}, format="json")

        assert r.status_code == 200 and r.json()["reason"] == "Back pain"
        assert Appointment.objects.get(pk=mine.pk).reason == "Back pain"

    def test_doctor_writes_notes(self, client_doctor, mine):
        r = client_doctor.patch(f"{URL}{mine.pk}/", {"notes": "Bring X-rays"}, format="json")

        assert r.status_code == 200
        assert Appointment.objects.get(pk=mine.pk).notes == "Bring X-rays"

    def test_the_reason_is_encrypted_at_rest(self, client_a, mine):
        client_a.patch(f"{URL}{mine.pk}/", {"reason": "Back pain"}, format="json")

        with connection.cursor() as cursor:
            pk = Appointment._meta.pk.get_db_prep_value(mine.pk, connection)
            cursor.execute("SELECT reason FROM appointments_appointment WHERE id = %s", [pk])
            (raw,) = cursor.fetchone()
        assert raw.startswith("fernet:") and "Back pain" not in raw

    def test_patient_cannot_write_the_doctors_notes(self, client_a, mine):
        r = client_a.patch(f"{URL}{mine.pk}/", {"notes": "I am fine"}, format="json")

        assert r.status_code == 403
        assert Appointment.objects.get(pk=mine.pk).notes == ""

    def test_status_cannot_be_patched(self, client_doctor, mine):
        r = client_doctor.patch(f"{URL}{mine.pk}/", {"status": "completed"}, format="json")

        assert r.status_code == 400 and "status" in r.json()["error"]["fields"]
        assert Appointment.objects.get(pk=mine.pk).status == AppointmentStatus.SCHEDULED

    def test_times_cannot_be_patched(self, client_a, mine):
        r = client_a.patch(f"{URL}{mine.pk}/", {"start_time": berlin(TUESDAY, 14).isoformat()}, format="json")

        assert r.status_code == 400
        assert Appointment.objects.get(pk=mine.pk).start_time == berlin(TUESDAY, 10)

    def test_too_long_a_reason_answers_400(self, client_a, mine):
        r = client_a.patch(f"{URL}{mine.pk}/", {"reason": "x" * 2001}, format="json")

        assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]

    def test_another_patient_gets_404(self, client_b, mine):
        assert client_b.patch(f"{URL}{mine.pk}/", {"reason": "mine now"}, format="json").status_code == 404
        assert Appointment.objects.get(pk=mine.pk).reason == "Follow-up"

    def test_put_is_not_allowed(self, client_a, mine):
        r = client_a.put(f"{URL}{mine.pk}/", {"reason": "x"}, format="json")

        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
