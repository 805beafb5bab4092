"""The lifecycle actions: every legal transition, every illegal one (409), and who may do which (403/404)."""

import pytest

from appointments.choices import AppointmentStatus
from appointments.models import Appointment, AppointmentReschedule
from notifications.models import Notification

from .conftest import MONDAY, SATURDAY, TUESDAY, URL, berlin, grant, iso
from .factories import AppointmentFactory

S = AppointmentStatus


@pytest.fixture
def make(user_a, provider):
    """`make(status, start=Tuesday 10:00)`: user_a's appointment with the provider in STATUS."""

    def _make(status=S.SCHEDULED, start=None):
        return AppointmentFactory(
            patient=user_a, provider=provider.doctor, status=status, start_time=start or berlin(TUESDAY, 10)
        )

    return _make


def post(client, appointment, verb, body=None):
    return client.post(f"{URL}{appointment.pk}/{verb}/", body or {}, format="json")


def status_of(appointment) -> str:
    return Appointment.objects.get(pk=appointment.pk).status


@pytest.mark.django_db
class TestLegalTransitions:
    def test_doctor_confirms_a_scheduled_appointment(self, client_doctor, make):
        a = make()

        r = post(client_doctor, a, "confirm")

        assert r.status_code == 200 and r.json()["status"] == "confirmed"
        stored = Appointment.objects.get(pk=a.pk)
        assert stored.status == S.CONFIRMED and stored.confirmed_at is not None

    def test_doctor_completes_a_confirmed_appointment_before_its_end(self, client_doctor, make):
        a = make(S.CONFIRMED)

        r = post(client_doctor, a, "complete")

        assert r.status_code == 200 and r.json()["status"] == "completed"
        assert Appointment.objects.get(pk=a.pk).completed_at is not None

    def test_doctor_marks_a_no_show_once_the_start_has_passed(self, api, doctor, make, frozen):
        a = make(S.CONFIRMED, start=berlin(MONDAY, 9))
        frozen.move_to(berlin(MONDAY, 9, 15))

        r = post(api(doctor), a, "no-show")

        assert r.status_code == 200 and r.json()["status"] == "no_show"
        assert Appointment.objects.get(pk=a.pk).no_show_at is not None

    @pytest.mark.parametrize("status", [S.SCHEDULED, S.CONFIRMED])
    def test_patient_cancels_with_a_reason(self, client_a, user_a, make, status):
        a = make(status)

        r = post(client_a, a, "cancel", {"reason": "Feeling better"})

        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        stored = Appointment.objects.get(pk=a.pk)
        assert stored.status == S.CANCELLED and stored.cancelled_by == user_a
        assert stored.cancellation_reason == "Feeling better" and stored.cancelled_at is not None

    def test_doctor_cancels_without_a_reason(self, client_doctor, doctor, make):
        a = make(S.CONFIRMED)

        r = post(client_doctor, a, "cancel")

        assert r.status_code == 200
        assert Appointment.objects.get(pk=a.pk).cancelled_by == doctor

    def test_patient_cancelling_tells_the_doctor(self, client_a, doctor, make, django_capture_on_commit_callbacks):
        a = make()
        with django_capture_on_commit_callbacks(execute=True):
            post(client_a, a, "cancel", {"reason": "private"})

        notice = Notification.objects.get(recipient=doctor)
        assert notice.title == "Appointment cancelled" and notice.data["appointment_id"] == str(a.pk)
        assert "private" not in notice.body

    def test_doctor_cancelling_tells_the_patient(self, client_doctor, user_a, make, django_capture_on_commit_callbacks):
        a = make()
        with django_capture_on_commit_callbacks(execute=True):
            post(client_doctor, a, "cancel")

        assert Notification.objects.get(recipient=user_a).title == "Appointment cancelled"


@pytest.mark.django_db
class TestIllegalTransitions:
    @pytest.mark.parametrize("status", [S.CONFIRMED, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
    def test_confirm_only_from_scheduled(self, client_doctor, make, status):
        a = make(status)

        r = post(client_doctor, a, "confirm")

        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        assert status_of(a) == status

    @pytest.mark.parametrize("status", [S.SCHEDULED, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
    def test_complete_only_from_confirmed(self, client_doctor, make, status):
        a = make(status)

        assert post(client_doctor, a, "complete").status_code == 409
        assert status_of(a) == status

    @pytest.mark.parametrize("status", [S.SCHEDULED, S.COMPLETED, S.CANCELLED, S.NO_SHOW])
    def test_no_show_only_from_confirmed(self, api, doctor, make, status, frozen):
        a = make(status, start=berlin(MONDAY, 9))
        frozen.move_to(berlin(MONDAY, 10))

        assert post(api(doctor), a, "no-show").status_code == 409
        assert status_of(a) == status

    def test_no_show_before_the_start_answers_409(self, client_doctor, make):
        a = make(S.CONFIRMED)

        r = post(client_doctor, a, "no-show")

        assert r.status_code == 409 and "start time" in r.json()["error"]["message"]
        assert status_of(a) == S.CONFIRMED

    @pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.NO_SHOW])
    def test_cancel_only_while_active(self, client_a, make, status):
        a = make(status)

        assert post(client_a, a, "cancel").status_code == 409
        assert status_of(a) == status

    @pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.NO_SHOW])
    def test_reschedule_only_while_active(self, client_a, make, status):
        a = make(status)

        assert post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))}).status_code == 409
        assert Appointment.objects.get(pk=a.pk).start_time == berlin(TUESDAY, 10)


@pytest.mark.django_db
class TestWhoMayDoWhat:
    @pytest.mark.parametrize("verb", ["confirm", "complete", "no-show"])
    def test_the_patient_cannot_do_the_doctors_actions(self, client_a, make, verb):
        a = make(S.SCHEDULED if verb == "confirm" else S.CONFIRMED)

        r = post(client_a, a, verb)

        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        assert status_of(a) == a.status

    @pytest.mark.parametrize("verb", ["confirm", "cancel", "reschedule"])
    def test_another_patient_gets_404(self, client_b, make, verb):
        a = make()

        r = post(client_b, a, verb, {"start_time": iso(berlin(TUESDAY, 14))})

        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert status_of(a) == S.SCHEDULED

    def test_another_doctor_without_a_grant_gets_404(self, api, make):
        a = make()
        other = AppointmentFactory(start_time=berlin(TUESDAY, 12)).provider

        assert post(api(other), a, "confirm").status_code == 404

    def test_another_doctor_with_a_grant_sees_but_cannot_act(self, api, user_a, make):
        a = make()
        other = AppointmentFactory(start_time=berlin(TUESDAY, 12)).provider
        grant(user_a, other)
        client = api(other)

        assert client.get(f"{URL}{a.pk}/?patient={user_a.pk}").status_code == 200
        r = client.post(f"{URL}{a.pk}/cancel/?patient={user_a.pk}", {}, format="json")

        assert r.status_code == 403
        assert status_of(a) == S.SCHEDULED

    def test_anonymous_gets_401(self, anon, make):
        assert post(anon, make(), "cancel").status_code == 401


@pytest.mark.django_db
class TestReschedule:
    def test_patient_moves_it_and_the_history_is_kept(self, client_a, user_a, make):
        a = make()

        r = post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))})

        assert r.status_code == 200, r.content
        body = r.json()
        assert body["start_time"] == "2025-03-25T13:00:00Z" and body["end_time"] == "2025-03-25T13:30:00Z"
        assert body["reschedules"][0]["previous_start_time"] == "2025-03-25T09:00:00Z"
        move = AppointmentReschedule.objects.get(appointment=a)
        assert (move.previous_start_time, move.new_start_time) == (berlin(TUESDAY, 10), berlin(TUESDAY, 14))
        assert move.rescheduled_by == user_a
        assert Appointment.objects.get(pk=a.pk).start_time == berlin(TUESDAY, 14)

    def test_moved_by_the_patient_a_confirmed_appointment_needs_confirming_again(self, client_a, make):
        a = make(S.CONFIRMED)

        post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))})

        stored = Appointment.objects.get(pk=a.pk)
        assert stored.status == S.SCHEDULED and stored.confirmed_at is None

    def test_moved_by_the_doctor_it_stays_confirmed(self, client_doctor, make):
        a = make(S.CONFIRMED)

        assert post(client_doctor, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))}).status_code == 200
        assert status_of(a) == S.CONFIRMED

    def test_it_may_overlap_its_own_old_time(self, client_a, make):
        a = make()

        r = post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 10, 15))})

        assert r.status_code == 200
        assert Appointment.objects.get(pk=a.pk).end_time == berlin(TUESDAY, 10, 45)

    def test_onto_a_taken_slot_answers_409(self, client_a, make, provider):
        a = make()
        AppointmentFactory(provider=provider.doctor, start_time=berlin(TUESDAY, 14))

        r = post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))})

        assert r.status_code == 409
        assert Appointment.objects.get(pk=a.pk).start_time == berlin(TUESDAY, 10)
        assert not AppointmentReschedule.objects.exists()

    def test_outside_working_hours_answers_400(self, client_a, make):
        a = make()

        r = post(client_a, a, "reschedule", {"start_time": iso(berlin(SATURDAY, 10))})

        assert r.status_code == 400 and "start_time" in r.json()["error"]["fields"]
        assert not AppointmentReschedule.objects.exists()

    def test_into_the_past_answers_400(self, client_a, make):
        assert post(client_a, make(), "reschedule", {"start_time": iso(berlin(MONDAY, 6))}).status_code == 400

    def test_missing_start_time_answers_400_in_the_envelope(self, client_a, make):
        r = post(client_a, make(), "reschedule", {})

        assert r.status_code == 400 and "start_time" in r.json()["error"]["fields"]

    def test_the_other_party_is_told(self, client_a, doctor, make, django_capture_on_commit_callbacks):
        a = make()
        with django_capture_on_commit_callbacks(execute=True):
            post(client_a, a, "reschedule", {"start_time": iso(berlin(TUESDAY, 14))})

        notice = Notification.objects.get(recipient=doctor)
        assert notice.title == "Appointment rescheduled"
        assert "10:00 (CET) to Tue 25 Mar 2025, 14:00 (CET)" in notice.body
