"""`/api/v1/alerts/`: the person's episodes, one with its readings, and acknowledgement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, CareTeamGrant
from alerts.models import AlertEpisode, EpisodeReading

from .conftest import ALERTS

pytestmark = pytest.mark.django_db


def episode_of(
    user, *, severity="critical", rule="clinical_threshold", metric_type="heart_rate", minutes_ago=10, **fields
) -> AlertEpisode:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    fields.setdefault("critical_since", at if severity == "critical" else None)
    fields.setdefault("next_reminder_at", at + timedelta(minutes=10) if severity == "critical" else None)
    return AlertEpisode.objects.create(
        user=user,
        rule=rule,
        metric_type=metric_type,
        severity=severity,
        opened_at=at,
        last_signal_at=at,
        last_reading_at=at,
        reading_count=1,
        **fields,
    )


class TestList:
    def test_it_needs_credentials(self, anon):
        assert anon.get(ALERTS).status_code == 401

    def test_it_lists_my_episodes_newest_first_in_the_contract_shape(self, client_a, user_a, user_b):
        older = episode_of(user_a, severity="warning", metric_type="blood_pressure", minutes_ago=60)
        newer = episode_of(
            user_a,
            minutes_ago=5,
            worst={"id": "0b3f6c1e-0000-4000-8000-000000000001", "value": 140.0, "unit": "bpm", "recorded_at": "x"},
        )
        episode_of(user_b)

        r = client_a.get(ALERTS)

        assert r.status_code == 200
        assert [e["id"] for e in r.json()["results"]] == [str(newer.pk), str(older.pk)]
        first = r.json()["results"][0]
        assert set(first) == {
            "id",
            "rule",
            "metric_type",
            "subject",
            "severity",
            "status",
            "opened_at",
            "closed_at",
            "reading_count",
            "worst",
            "last_reading_at",
            "acknowledged_by",
            "acknowledged_at",
            "escalated_at",
        }
        assert (first["rule"], first["metric_type"], first["status"]) == ("clinical_threshold", "heart_rate", "open")
        assert first["worst"]["value"] == 140.0
        assert first["acknowledged_by"] is None

    @pytest.mark.parametrize(
        ("query", "expected"), [("status=open", 1), ("severity=warning", 1), ("rule=missed_dose", 0)]
    )
    def test_it_filters(self, client_a, user_a, query, expected):
        episode_of(user_a, severity="warning")
        episode_of(user_a, metric_type="blood_pressure", status="closed", closed_at=timezone.now())

        assert client_a.get(f"{ALERTS}?{query}").json()["count"] == expected

    def test_a_filter_value_that_is_not_a_choice_is_a_400(self, client_a):
        r = client_a.get(f"{ALERTS}?severity=dire")
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"

    def test_device_and_dose_episodes_name_their_subject(self, client_a, user_a):
        episode_of(
            user_a,
            rule="device_offline",
            metric_type="",
            severity="warning",
            subject_key="7d5b9c3e-2f7a-4a51-9d3c-0b0e8c1d2a11",
            subject_label="Bedroom cuff",
        )

        [row] = client_a.get(ALERTS).json()["results"]
        assert row["metric_type"] is None
        assert row["subject"] == {
            "type": "device",
            "id": "7d5b9c3e-2f7a-4a51-9d3c-0b0e8c1d2a11",
            "name": "Bedroom cuff",
        }

    def test_the_list_costs_a_fixed_number_of_queries(self, client_a, user_a, django_assert_max_num_queries):
        for minutes in range(1, 30):
            episode_of(user_a, severity="warning", metric_type=f"m{minutes}", minutes_ago=minutes)
        with django_assert_max_num_queries(6):
            assert client_a.get(ALERTS).status_code == 200


class TestDetail:
    def test_it_shows_the_readings_it_holds_newest_first_at_most_100(self, client_a, user_a):
        episode = episode_of(user_a)
        now = timezone.now()
        links = [
            EpisodeReading(
                episode=episode, reading_id=f"00000000-0000-4000-8000-{i:012d}", recorded_at=now - timedelta(minutes=i)
            )
            for i in range(120)
        ]
        EpisodeReading.objects.bulk_create(links)

        body = client_a.get(f"{ALERTS}{episode.pk}/").json()

        assert len(body["readings"]) == 100
        assert body["readings"][0] == "00000000-0000-4000-8000-000000000000"

    def test_another_persons_episode_is_a_404(self, client_a, user_b):
        r = client_a.get(f"{ALERTS}{episode_of(user_b).pk}/")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


class TestAcknowledge:
    def test_it_stops_the_reminders_and_the_escalation(self, client_a, user_a):
        episode = episode_of(user_a)

        r = client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert r.status_code == 200
        assert r.json()["status"] == "acknowledged"
        assert r.json()["acknowledged_by"] == {"id": str(user_a.pk), "name": user_a.full_name}
        episode.refresh_from_db()
        assert (episode.status, episode.acknowledged_by_id, episode.next_reminder_at) == (
            "acknowledged",
            user_a.pk,
            None,
        )
        assert not AuditEvent.objects.exists()  # one's own acknowledgement is no access by someone else

    def test_acknowledging_twice_answers_200_and_changes_nothing(self, client_a, user_a):
        episode = episode_of(user_a)
        first = client_a.post(f"{ALERTS}{episode.pk}/acknowledge/").json()

        second = client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert second.status_code == 200
        assert second.json() == first

    def test_another_persons_episode_is_a_404_and_stays_open(self, client_a, user_b):
        episode = episode_of(user_b)

        r = client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert r.status_code == 404
        episode.refresh_from_db()
        assert episode.status == "open"

    def test_an_id_that_is_not_a_uuid_is_a_404(self, client_a):
        assert client_a.post(f"{ALERTS}not-an-id/acknowledge/").status_code == 404

    def test_it_needs_credentials(self, anon, user_a):
        assert anon.post(f"{ALERTS}{episode_of(user_a).pk}/acknowledge/").status_code == 401

    def test_a_closed_episode_is_acknowledged_but_stays_closed(self, client_a, user_a):
        episode = episode_of(user_a, status="closed", closed_at=timezone.now())

        r = client_a.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert (r.status_code, r.json()["status"]) == (200, "closed")
        assert r.json()["acknowledged_at"] is not None


class TestUnderAGrant:
    @pytest.fixture
    def grant(self, user_a, doctor):
        return CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["alerts"])

    def test_a_grantee_reads_the_patients_episodes_and_the_read_is_audited(self, api, user_a, doctor, grant):
        episode = episode_of(user_a)

        r = api(doctor).get(f"{ALERTS}?patient={user_a.pk}")

        assert [e["id"] for e in r.json()["results"]] == [str(episode.pk)]
        assert AuditEvent.objects.filter(actor=doctor, patient=user_a, resource_type="alert_episode").count() == 1

    def test_a_grantee_acknowledges_and_the_patients_access_log_shows_it(self, api, user_a, doctor, grant):
        episode = episode_of(user_a)

        r = api(doctor).post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert r.status_code == 200
        assert r.json()["acknowledged_by"] == {"id": str(doctor.pk), "name": doctor.full_name}
        log = api(user_a).get("/api/v1/auth/access-log/").json()["results"]
        assert [(e["action"], e["resource_type"], e["resource_id"]) for e in log] == [
            ("update", "alert_episode", str(episode.pk))
        ]

    def test_without_the_alerts_scope_it_is_a_404(self, api, user_a, doctor):
        CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["health_metrics"])
        episode = episode_of(user_a)

        assert api(doctor).get(f"{ALERTS}?patient={user_a.pk}").status_code == 404
        assert api(doctor).post(f"{ALERTS}{episode.pk}/acknowledge/").status_code == 404

    def test_a_revoked_grant_is_a_404_on_the_next_request(self, api, user_a, doctor, grant):
        episode = episode_of(user_a)
        assert api(doctor).get(f"{ALERTS}?patient={user_a.pk}").status_code == 200

        CareTeamGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())

        assert api(doctor).get(f"{ALERTS}?patient={user_a.pk}").status_code == 404
        assert api(doctor).post(f"{ALERTS}{episode.pk}/acknowledge/").status_code == 404


class TestCaregiverMatrix:
    """A caregiver's reach into the patient's alerts: grant state × scope × read and acknowledge. Only an accepted,
    live grant covering `alerts` reads (200, audited) and acknowledges; anything else is a 404, and the episode
    stays as it was."""

    @pytest.mark.parametrize("state", ["invited", "accepted", "expired", "revoked"])
    @pytest.mark.parametrize("scopes", [["alerts"], ["health_metrics", "medications", "appointments"]])
    def test_read_and_acknowledge(self, api, user_a, state, scopes):
        from tests.accounts.factories import UserFactory
        from tests.accounts.test_caregiver_matrix import grant_in_state

        caregiver = UserFactory()
        grant_in_state(state, patient=user_a, caregiver=caregiver, scopes=scopes)
        episode = episode_of(user_a)
        allowed = state == "accepted" and "alerts" in scopes
        client = api(caregiver)

        listed = client.get(f"{ALERTS}?patient={user_a.pk}")
        detail = client.get(f"{ALERTS}{episode.pk}/?patient={user_a.pk}")
        acknowledged = client.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert (listed.status_code, detail.status_code, acknowledged.status_code) == (
            (200, 200, 200) if allowed else (404, 404, 404)
        )
        episode.refresh_from_db()
        assert (episode.acknowledged_by_id == caregiver.pk) is allowed
        assert AuditEvent.objects.filter(actor=caregiver, patient=user_a).exists() is allowed

    def test_an_invitation_accepted_through_the_api_lets_the_caregiver_acknowledge(
        self, api, client_a, user_a, django_capture_on_commit_callbacks
    ):
        from tests.accounts.caregivers import invite_and_accept
        from tests.accounts.factories import UserFactory

        caregiver = api(UserFactory())
        invite_and_accept(client_a, caregiver, scopes=["alerts"], capture=django_capture_on_commit_callbacks)
        episode = episode_of(user_a)

        r = caregiver.post(f"{ALERTS}{episode.pk}/acknowledge/")

        assert r.status_code == 200
        assert r.json()["acknowledged_by"]["id"] == str(caregiver.user.pk)
