"""Failures the hardening tests found, each kept as a plain test of the fixed behaviour: Schemathesis
(test_fuzz.py), the fault tests (test_faults.py) and the OWASP checks (owasp/, one module per item)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import redis
from django.core.cache import caches

from medications.models import DrugInteraction
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

PROVIDER_ME = "/api/v1/appointments/providers/me/"


def component(openapi: dict, name: str) -> dict:
    return openapi["components"]["schemas"][name]


class TestUndeclaredMethodOnAPatientScopedRoute:
    """TRACE with `?patient=<someone else>` answered 404: the care-team check ran before dispatch's 405."""

    def test_trace_naming_another_patient_answers_405(self, client_a, user_b):
        r = client_a.generic("TRACE", f"/api/v1/medications/?patient={user_b.pk}")

        assert r.status_code == 405
        assert r.json()["error"]["code"] == "method_not_allowed"

    def test_a_write_for_another_patient_is_still_refused(self, client_a, user_b):
        r = client_a.post(f"/api/v1/medications/?patient={user_b.pk}", {}, format="json")

        assert r.status_code == 404


class TestWorkingHoursEntryInAPartialUpdate:
    """PATCH providers/me/ with an entry lacking `start` was a 500 (KeyError in the entry's validate())."""

    def test_an_entry_without_its_start_answers_400_naming_it(self, api, doctor):
        r = api(doctor).patch(PROVIDER_ME, {"working_hours": [{"weekday": 0, "end": "09:00"}]}, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["fields"]["working_hours"]["0"]["start"] == ["This field is required."]

    def test_an_entry_without_its_weekday_and_end_answers_400_naming_both(self, api, doctor):
        r = api(doctor).patch(PROVIDER_ME, {"working_hours": [{"start": "09:00"}]}, format="json")

        assert r.status_code == 400
        assert set(r.json()["error"]["fields"]["working_hours"]["0"]) == {"weekday", "end"}

    def test_a_whole_entry_is_still_accepted(self, api, doctor):
        r = api(doctor).patch(
            PROVIDER_ME, {"working_hours": [{"weekday": 0, "start": "08:00", "end": "12:00"}]}, format="json"
        )

        assert r.status_code == 200
        assert r.json()["working_hours"] == [{"weekday": 0, "start": "08:00", "end": "12:00"}]


class TestHourMinuteTimesMatchTheirSchema:
    """`HH:MM` times were documented as `format: time` (RFC 3339 `09:00:00Z`), which they never are."""

    def test_working_hours_answer_the_documented_pattern(self, api, doctor, openapi):
        pattern = component(openapi, "WorkingHoursEntry")["properties"]["start"]["pattern"]

        hours = api(doctor).get(PROVIDER_ME).json()["working_hours"]

        assert hours
        assert all(re.fullmatch(pattern, entry["start"]) and re.fullmatch(pattern, entry["end"]) for entry in hours)
        assert "format" not in component(openapi, "WorkingHoursEntry")["properties"]["start"]

    def test_quiet_hours_answer_the_documented_pattern(self, client_a, openapi):
        r = client_a.put(
            "/api/v1/notifications/preferences/",
            {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
            format="json",
        )
        prop = component(openapi, "Preferences")["properties"]["quiet_hours_start"]

        assert r.status_code == 200
        assert (r.json()["quiet_hours_start"], r.json()["quiet_hours_end"]) == ("22:00", "07:00")
        assert re.fullmatch(prop["pattern"], r.json()["quiet_hours_start"])
        assert "format" not in prop


class TestEmptyMeetingUrl:
    """An in-person appointment answers `meeting_url: ""`, which the schema declared as `format: uri`."""

    def test_an_in_person_appointment_answers_an_empty_meeting_url_the_schema_allows(self, client_a, user_a, openapi):
        provider = ProviderProfileFactory()
        appointment = AppointmentFactory(
            patient=user_a, provider=provider.doctor, start_time=datetime.now(UTC) + timedelta(days=3)
        )

        r = client_a.get(f"/api/v1/appointments/{appointment.pk}/")

        assert r.json()["meeting_url"] == ""
        assert "format" not in component(openapi, "Appointment")["properties"]["meeting_url"]


class TestReadingWithoutADevice:
    """A manual reading answers `device: null`, which the schema did not allow (not nullable)."""

    def test_a_manual_reading_answers_a_null_device_the_schema_allows(self, client_a, user_a, openapi):
        reading = HealthMetricFactory(user=user_a)

        r = client_a.get(f"/api/v1/health-metrics/{reading.pk}/")

        assert r.json()["device"] is None
        assert component(openapi, "HealthMetric")["properties"]["device"]["nullable"] is True


class TestEmptyStringsDocumentedWithoutAFormat:
    """`EmergencyContact.email` and `DrugInteraction.source_url` answer `""` where the schema said `format: email`
    / `format: uri`, which an empty string does not satisfy (issue 17, point 10)."""

    def test_a_contact_without_an_address_answers_an_email_the_schema_allows(self, client_a, openapi):
        body = {"name": "Dad", "phone_number": "+33 6 12 34 56 78", "notify_on_critical": True}

        r = client_a.post("/api/v1/notifications/emergency-contacts/", body, format="json")

        assert r.status_code == 201 and r.json()["email"] == ""
        prop = component(openapi, "EmergencyContact")["properties"]["email"]
        assert prop["type"] == "string" and "format" not in prop

    def test_an_interaction_without_a_source_url_answers_one_the_schema_allows(self, client_a, openapi):
        DrugInteraction.objects.create(
            a_kind="ingredient", a_value="x-sentinel", b_kind="ingredient", b_value="y-sentinel",
            severity="minor", description="A test rule.", source="Test", source_url="",
        )  # fmt: skip

        results = client_a.get("/api/v1/medications/interactions/?limit=200").json()["results"]

        assert "" in {rule["source_url"] for rule in results}
        prop = component(openapi, "DrugInteraction")["properties"]["source_url"]
        assert prop["type"] == "string" and "format" not in prop


class TestRedisDown:
    """Found by the fault tests: with Redis stopped, every throttled request (all of them) was a 500."""

    def test_a_request_while_the_cache_is_unreachable_answers_503_with_retry_after(self, client_a):
        down = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        backend = type(caches["default"])
        with mock.patch.object(backend, "get", side_effect=down), mock.patch.object(backend, "set", side_effect=down):
            r = client_a.get("/api/v1/notifications/unread-count/")

        assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
        assert r["Retry-After"] == "5"
        assert b"6379" not in r.content

    def test_the_schema_documents_the_503(self, openapi):
        responses = openapi["paths"]["/api/v1/devices/me/batches/"]["post"]["responses"]

        assert responses["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


class TestRewrittenErrorsKeepTheirSecurityHeaders:
    """Found by the OWASP API8 checks: the envelope middleware dropped X-Frame-Options from the errors it rewrote
    (the resolver's 404, Django's own 400/403/500), because the clickjacking middleware runs inside it."""

    def test_an_unknown_api_route_answers_the_envelope_with_x_frame_options(self, anon):
        r = anon.get("/api/v1/no-such-route/")

        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        assert r["X-Frame-Options"] == "DENY"
        assert r["Content-Type"] == "application/json"
