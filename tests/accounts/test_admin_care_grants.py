"""The Django admin of care-team grants: read-only, and revocation only through `care_grant_revoke` (issue 17.2)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import CareTeamGrant, SecurityEvent
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/careteamgrant/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def grant(user_a, doctor):
    return CareTeamGrant.objects.create(patient=user_a, grantee=doctor, invited_email=doctor.email, scopes=["alerts"])


def change_form_post(grant: CareTeamGrant, **fields) -> dict:
    """What a browser would send from the change form, had it fields to send."""
    return {
        "patient": str(grant.patient_id),
        "grantee": str(grant.grantee_id),
        "scopes": '["health_metrics", "medications", "appointments", "alerts"]',
        "expires_at_0": "",
        "expires_at_1": "",
        "revoked_at_0": "",
        "revoked_at_1": "",
        "_save": "Save",
        **fields,
    }


def test_the_changelist_and_change_page_render(admin_client, grant):
    assert admin_client.get(CHANGELIST).status_code == 200
    page = admin_client.get(f"{CHANGELIST}{grant.pk}/change/")
    assert page.status_code == 200
    assert 'name="revoked_at' not in page.content.decode() and 'name="expires_at' not in page.content.decode()


def test_the_change_form_cannot_undo_a_revocation(admin_client, grant):
    revoked_at = timezone.now()
    CareTeamGrant.objects.filter(pk=grant.pk).update(revoked_at=revoked_at)

    r = admin_client.post(f"{CHANGELIST}{grant.pk}/change/", change_form_post(grant))

    assert r.status_code == 403
    stored = CareTeamGrant.objects.get(pk=grant.pk)
    assert stored.revoked_at == revoked_at and stored.scopes == ["alerts"] and stored.grantee_id == grant.grantee_id


def test_the_change_form_cannot_extend_a_grant(admin_client, grant):
    r = admin_client.post(
        f"{CHANGELIST}{grant.pk}/change/", change_form_post(grant, expires_at_0="2099-01-01", expires_at_1="00:00:00")
    )
    assert r.status_code == 403
    assert CareTeamGrant.objects.get(pk=grant.pk).expires_at is None


def test_nothing_is_added_or_deleted_in_the_admin(admin_client, grant):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{grant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CareTeamGrant.objects.filter(pk=grant.pk).exists()


def test_the_action_revokes_and_records_a_security_event(admin_client, admin_user, grant):
    r = admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [str(grant.pk)]})

    assert r.status_code == 302
    assert CareTeamGrant.objects.get(pk=grant.pk).revoked_at is not None
    event = SecurityEvent.objects.get(event_type="grant_revoked")
    assert event.user == admin_user
    assert event.metadata["grant_id"] == str(grant.pk) and event.metadata["reason"] == "admin"
    assert event.metadata["patient_id"] == str(grant.patient_id)


def test_the_action_on_a_revoked_grant_changes_nothing(admin_client, grant):
    revoked_at = timezone.now()
    CareTeamGrant.objects.filter(pk=grant.pk).update(revoked_at=revoked_at)

    admin_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [str(grant.pk)]})

    assert CareTeamGrant.objects.get(pk=grant.pk).revoked_at == revoked_at
    assert not SecurityEvent.objects.filter(event_type="grant_revoked").exists()


def test_staff_without_the_permission_cannot_revoke(client, grant):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_careteamgrant"))
    client.force_login(staff)

    client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [str(grant.pk)]})

    assert CareTeamGrant.objects.get(pk=grant.pk).revoked_at is None
    assert not SecurityEvent.objects.filter(event_type="grant_revoked").exists()
