"""Caregiver invitations through HTTP: invite any address, the mailed link, acceptance by the invited account."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import CareTeamGrant, SecurityEvent
from tests.accounts.caregivers import ACCEPT_URL, URL, invite, invite_and_accept, token_mailed_to
from tests.accounts.factories import UserFactory, registration
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db

READINGS = "/api/v1/health-metrics/"


@pytest.fixture
def carer(db):
    return UserFactory(email="carer@example.org")


@pytest.fixture
def carer_client(carer, api):
    return api(carer)


class TestInvite:
    def test_inviting_any_address_answers_201_invited(self, client_a, user_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = invite(client_a, "Someone.New@Example.org", scopes=["health_metrics", "alerts"])

        assert r.status_code == 201, r.content
        body = r.json()
        assert body["role"] == "caregiver" and body["status"] == "invited"
        assert body["grantee"] is None and body["email"] == "someone.new@example.org"
        assert body["patient"] == {"id": str(user_a.pk), "name": user_a.full_name}
        assert body["scopes"] == ["alerts", "health_metrics"] and body["accepted_at"] is None
        assert set(body) >= {"id", "role", "scopes", "status", "expires_at", "created_at", "accepted_at", "grantee"}
        stored = CareTeamGrant.objects.get(pk=body["id"])
        assert (stored.patient, stored.grantee, stored.invited_email) == (user_a, None, "someone.new@example.org")

    def test_the_mail_carries_a_single_link_whose_token_is_stored_only_hashed(
        self, client_a, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            body = invite(client_a, "someone@example.org").json()

        token = token_mailed_to("someone@example.org")
        stored = CareTeamGrant.objects.get(pk=body["id"])
        assert stored.invitation_token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(body) and "token" not in body
        assert abs(stored.invitation_expires_at - (stored.created_at + timedelta(days=7))) < timedelta(seconds=5)

    def test_the_mail_leaves_only_after_commit(self, client_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            invite(client_a, "someone@example.org")
            assert mail.outbox == []
        assert len(callbacks) == 1

    def test_inviting_records_a_security_event(self, client_a, user_a):
        body = invite(client_a, "someone@example.org").json()
        event = SecurityEvent.objects.get(user=user_a, event_type="care_invitation_sent")
        assert event.metadata["grant_id"] == body["id"] and event.metadata["role"] == "caregiver"
        assert "someone@example.org" not in str(event.metadata)

    def test_inviting_oneself_is_refused(self, client_a, user_a):
        r = invite(client_a, user_a.email.upper())
        assert r.status_code == 400 and "email" in r.json()["error"]["fields"]
        assert not CareTeamGrant.objects.exists()

    def test_an_invitation_needs_an_email(self, client_a):
        r = client_a.post(URL, {"role": "caregiver", "scopes": ["alerts"]}, format="json")
        assert r.status_code == 400 and "email" in r.json()["error"]["fields"]
        assert r.json()["error"]["code"] == "validation_error"

    def test_an_unknown_scope_is_refused_and_nothing_is_mailed(self, client_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = invite(client_a, "someone@example.org", scopes=["everything"])
        assert r.status_code == 400 and "scopes" in r.json()["error"]["fields"]
        assert not CareTeamGrant.objects.exists() and mail.outbox == []

    def test_an_unknown_role_is_refused(self, client_a):
        r = client_a.post(URL, {"role": "nurse", "email": "a@example.org", "scopes": ["alerts"]}, format="json")
        assert r.status_code == 400 and "role" in r.json()["error"]["fields"]

    def test_anonymous_gets_401(self, anon):
        assert invite(anon, "someone@example.org").status_code == 401
        assert anon.post(ACCEPT_URL, {"token": "x"}, format="json").status_code == 401

    def test_an_invitation_gives_nothing_until_accepted(self, client_a, user_a, carer_client):
        HealthMetricFactory(user=user_a)
        invite(client_a, carer_client.user.email)
        assert carer_client.get(f"{READINGS}?patient={user_a.pk}").status_code == 404
        assert carer_client.get(f"{URL}?as=grantee").json()["results"] == []


class TestAccept:
    def test_the_invited_account_accepts_and_reads(
        self, client_a, user_a, carer, carer_client, django_capture_on_commit_callbacks
    ):
        reading = HealthMetricFactory(user=user_a)
        body = invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)

        assert body["status"] == "active" and body["accepted_at"] is not None
        assert body["grantee"] == {"id": str(carer.pk), "name": carer.full_name, "email": carer.email}
        stored = CareTeamGrant.objects.get(pk=body["id"])
        assert stored.grantee == carer and stored.invitation_token_hash is None
        listed = carer_client.get(f"{READINGS}?patient={user_a.pk}")
        assert listed.status_code == 200 and [r["id"] for r in listed.json()["results"]] == [str(reading.pk)]
        assert SecurityEvent.objects.filter(user=carer, event_type="care_invitation_accepted").count() == 1

    def test_someone_without_an_account_registers_then_accepts(
        self, client_a, user_a, anon, api, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, "newcomer.carer@example.org")
        token = token_mailed_to("newcomer.carer@example.org")
        signup = anon.post("/api/v1/auth/register/", registration(email="Newcomer.Carer@example.org"), format="json")
        assert signup.status_code == 201
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {signup.json()['tokens']['access']}")

        r = anon.post(ACCEPT_URL, {"token": token}, format="json")

        assert r.status_code == 200 and r.json()["status"] == "active"
        assert r.json()["grantee"]["email"] == "newcomer.carer@example.org"

    def test_the_address_is_compared_case_insensitively(self, client_a, api, django_capture_on_commit_callbacks):
        carer = UserFactory(email="mixed.case@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, "MIXED.Case@EXAMPLE.org")
        r = api(carer).post(ACCEPT_URL, {"token": token_mailed_to("mixed.case@example.org")}, format="json")
        assert r.status_code == 200

    def test_another_account_cannot_accept_and_nothing_changes(
        self, client_a, client_b, carer, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            body = invite(client_a, carer.email).json()
        token = token_mailed_to(carer.email)

        r = client_b.post(ACCEPT_URL, {"token": token}, format="json")

        assert r.status_code == 400 and "token" in r.json()["error"]["fields"]
        stored = CareTeamGrant.objects.get(pk=body["id"])
        assert stored.grantee is None and stored.accepted_at is None and stored.invitation_token_hash is not None

    def test_the_patient_cannot_accept_their_own_invitation(self, client_a, carer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, carer.email)
        r = client_a.post(ACCEPT_URL, {"token": token_mailed_to(carer.email)}, format="json")
        assert r.status_code == 400
        assert CareTeamGrant.objects.get().accepted_at is None

    def test_a_link_works_once(self, client_a, carer_client, django_capture_on_commit_callbacks):
        invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)
        token = token_mailed_to(carer_client.user.email)

        r = carer_client.post(ACCEPT_URL, {"token": token}, format="json")

        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
        assert SecurityEvent.objects.filter(event_type="care_invitation_accepted").count() == 1

    def test_an_unknown_token_is_refused(self, carer_client):
        r = carer_client.post(ACCEPT_URL, {"token": "not-a-token"}, format="json")
        assert r.status_code == 400 and "token" in r.json()["error"]["fields"]

    def test_a_missing_token_is_a_validation_error(self, carer_client):
        r = carer_client.post(ACCEPT_URL, {}, format="json")
        assert r.status_code == 400 and "token" in r.json()["error"]["fields"]

    # Access tokens are short-lived: a client made inside the frozen future signs in then.
    def test_a_link_expires_after_seven_days(self, client_a, user_a, carer, api, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            body = invite(client_a, carer.email).json()
        token = token_mailed_to(carer.email)

        with freeze_time(timezone.now() + timedelta(days=7, seconds=1)):
            r = api(carer).post(ACCEPT_URL, {"token": token}, format="json")
            listed = api(user_a).get(URL).json()["results"]

        assert r.status_code == 400
        assert CareTeamGrant.objects.get(pk=body["id"]).accepted_at is None
        assert [g["status"] for g in listed] == ["expired"]

    def test_a_link_still_works_on_the_seventh_day(self, client_a, carer, api, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, carer.email)
        token = token_mailed_to(carer.email)
        with freeze_time(timezone.now() + timedelta(days=6, hours=23)):
            assert api(carer).post(ACCEPT_URL, {"token": token}, format="json").status_code == 200

    def test_an_invitation_whose_grant_expired_cannot_be_accepted(
        self, client_a, carer, api, django_capture_on_commit_callbacks
    ):
        expires = timezone.now() + timedelta(hours=1)
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, carer.email, expires_at=expires.isoformat())
        with freeze_time(expires + timedelta(seconds=1)):
            r = api(carer).post(ACCEPT_URL, {"token": token_mailed_to(carer.email)}, format="json")
        assert r.status_code == 400 and "token" in r.json()["error"]["fields"]

    def test_a_revoked_invitation_cannot_be_accepted(
        self, client_a, carer, carer_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            body = invite(client_a, carer.email).json()
        assert client_a.delete(f"{URL}{body['id']}/").status_code == 204

        r = carer_client.post(ACCEPT_URL, {"token": token_mailed_to(carer.email)}, format="json")

        assert r.status_code == 400
        assert CareTeamGrant.objects.get(pk=body["id"]).grantee is None


class TestReplace:
    def test_inviting_the_address_again_replaces_the_invitation(
        self, client_a, user_a, carer, carer_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            first = invite(client_a, carer.email, scopes=["health_metrics"]).json()
        first_token = token_mailed_to(carer.email)
        with django_capture_on_commit_callbacks(execute=True):
            second = invite(client_a, carer.email.upper(), scopes=["medications"]).json()
        second_token = token_mailed_to(carer.email)

        assert CareTeamGrant.objects.get(pk=first["id"]).revoked_at is not None
        assert carer_client.post(ACCEPT_URL, {"token": first_token}, format="json").status_code == 400
        accepted = carer_client.post(ACCEPT_URL, {"token": second_token}, format="json")
        assert accepted.status_code == 200 and accepted.json()["id"] == second["id"]
        live = CareTeamGrant.objects.filter(patient=user_a, revoked_at__isnull=True)
        assert [(g.pk, g.scopes) for g in live] == [(CareTeamGrant.objects.get(pk=second["id"]).pk, ["medications"])]

    def test_inviting_an_active_caregiver_again_replaces_the_grant(
        self, client_a, user_a, carer_client, django_capture_on_commit_callbacks
    ):
        HealthMetricFactory(user=user_a)
        active = invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)
        invite(client_a, carer_client.user.email, scopes=["alerts"])

        assert CareTeamGrant.objects.get(pk=active["id"]).revoked_at is not None
        assert carer_client.get(f"{READINGS}?patient={user_a.pk}").status_code == 404
        replaced = SecurityEvent.objects.get(event_type="grant_revoked")
        assert replaced.metadata["grant_id"] == active["id"] and replaced.metadata["reason"] == "replaced"

    def test_the_database_keeps_one_live_grant_per_address(self, user_a):
        CareTeamGrant.objects.create(patient=user_a, role="caregiver", invited_email="x@example.org", accepted_at=None)
        with pytest.raises(Exception, match="one_live_per_address"):
            CareTeamGrant.objects.create(
                patient=user_a, role="caregiver", invited_email="X@example.org", accepted_at=None
            )

    def test_the_database_refuses_an_accepted_grant_without_a_grantee(self, user_a):
        with pytest.raises(Exception, match="live_accepted_has_grantee"):
            CareTeamGrant.objects.create(patient=user_a, role="caregiver", invited_email="x@example.org")


class TestListAndRevoke:
    def test_the_grantee_lists_the_grants_received_with_the_patient(
        self, client_a, user_a, carer_client, django_capture_on_commit_callbacks
    ):
        body = invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)

        r = carer_client.get(f"{URL}?as=grantee")

        assert r.status_code == 200
        (row,) = r.json()["results"]
        assert row["id"] == body["id"] and row["patient"] == {"id": str(user_a.pk), "name": user_a.full_name}
        assert row["role"] == "caregiver" and row["status"] == "active"
        assert "token" not in str(row) and "invitation" not in str(row)

    def test_as_patient_lists_only_the_grants_given(
        self, client_a, user_a, carer_client, api, django_capture_on_commit_callbacks
    ):
        invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)
        given = invite(api(carer_client.user), "someone@example.org").json()

        assert [g["id"] for g in carer_client.get(f"{URL}?as=patient").json()["results"]] == [given["id"]]
        assert client_a.get(f"{URL}?as=grantee").json()["results"] == []

    def test_an_unknown_side_is_a_validation_error(self, client_a):
        r = client_a.get(f"{URL}?as=everyone")
        assert r.status_code == 400 and "as" in r.json()["error"]["fields"]

    def test_the_patient_lists_a_pending_invitation_with_its_address(self, client_a):
        invite(client_a, "someone@example.org")
        (row,) = client_a.get(URL).json()["results"]
        assert (row["status"], row["email"], row["grantee"]) == ("invited", "someone@example.org", None)

    def test_revocation_acts_on_the_next_request(
        self, client_a, user_a, carer_client, django_capture_on_commit_callbacks
    ):
        HealthMetricFactory(user=user_a)
        body = invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)
        assert carer_client.get(f"{READINGS}?patient={user_a.pk}").status_code == 200

        assert client_a.delete(f"{URL}{body['id']}/").status_code == 204

        assert carer_client.get(f"{READINGS}?patient={user_a.pk}").status_code == 404
        event = SecurityEvent.objects.get(user=user_a, event_type="grant_revoked")
        assert event.metadata["grant_id"] == body["id"] and event.metadata["status_before"] == "active"

    def test_expiry_acts_on_the_next_request(
        self, client_a, user_a, carer, carer_client, api, django_capture_on_commit_callbacks
    ):
        HealthMetricFactory(user=user_a)
        expires = timezone.now() + timedelta(hours=2)
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_a, carer.email, expires_at=expires.isoformat())
        carer_client.post(ACCEPT_URL, {"token": token_mailed_to(carer.email)}, format="json")
        with freeze_time(expires - timedelta(seconds=1)):
            assert api(carer).get(f"{READINGS}?patient={user_a.pk}").status_code == 200

        with freeze_time(expires + timedelta(seconds=1)):
            assert api(carer).get(f"{READINGS}?patient={user_a.pk}").status_code == 404

    def test_the_caregiver_cannot_revoke_the_grant(self, client_a, carer_client, django_capture_on_commit_callbacks):
        body = invite_and_accept(client_a, carer_client, capture=django_capture_on_commit_callbacks)
        assert carer_client.delete(f"{URL}{body['id']}/").status_code == 403
        assert CareTeamGrant.objects.get(pk=body["id"]).revoked_at is None

    def test_another_person_cannot_see_or_revoke_an_invitation(self, client_a, client_b):
        body = invite(client_a, "someone@example.org").json()
        assert client_b.get(URL).json()["results"] == []
        assert client_b.delete(f"{URL}{body['id']}/").status_code == 404
        assert CareTeamGrant.objects.get(pk=body["id"]).revoked_at is None

    def test_listing_takes_a_fixed_number_of_queries(self, client_a, user_a, django_assert_max_num_queries):
        for n in range(5):
            invite(client_a, f"carer{n}@example.org")
        with django_assert_max_num_queries(4):
            assert len(client_a.get(URL).json()["results"]) == 5
