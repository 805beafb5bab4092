"""`accounts.selectors.care_grantees`: who holds a live, accepted grant of a scope from a patient (the alerts
app's escalation reads it to find whom to tell)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.care_team import care_grant_create, care_grant_revoke, care_invitation_create
from accounts.models import CareTeamGrant
from accounts.selectors import care_grantees
from tests.accounts.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    return UserFactory()


def caregiver_grant(patient, person, scopes=("alerts",), **extra) -> CareTeamGrant:
    """An accepted caregiver grant, stored as acceptance leaves it."""
    return CareTeamGrant.objects.create(
        patient=patient, role="caregiver", grantee=person, invited_email=person.email, scopes=list(scopes), **extra
    )


def test_doctors_and_caregivers_alike_ordered_by_email(patient):
    zed = UserFactory(email="zed@example.org")
    amy = DoctorFactory(email="amy@example.org")
    caregiver_grant(patient, zed)
    care_grant_create(patient=patient, doctor_email=amy.email, scopes=["alerts", "health_metrics"])

    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == [amy, zed]


def test_only_grants_covering_the_scope(patient):
    follows_alerts, follows_readings = UserFactory(), UserFactory()
    caregiver_grant(patient, follows_alerts, scopes=["alerts"])
    caregiver_grant(patient, follows_readings, scopes=["health_metrics"])

    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == [follows_alerts]
    assert list(care_grantees(patient_id=patient.pk, scope="health_metrics")) == [follows_readings]


def test_a_pending_invitation_counts_for_nothing(patient):
    invitee = UserFactory()
    care_invitation_create(patient=patient, email=invitee.email, scopes=["alerts"])
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_a_revoked_grant_counts_for_nothing(patient):
    grant = caregiver_grant(patient, UserFactory())
    care_grant_revoke(grant=grant, by=patient)
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_an_expired_grant_counts_for_nothing_from_its_expiry(patient):
    person = UserFactory()
    expires = timezone.now() + timedelta(hours=1)
    caregiver_grant(patient, person, expires_at=expires)
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == [person]
    with freeze_time(expires + timedelta(seconds=1)):
        assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_an_inactive_account_is_left_out(patient):
    person = UserFactory()
    caregiver_grant(patient, person)
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_a_doctor_who_lost_the_role_is_left_out(patient):
    doctor = DoctorFactory()
    care_grant_create(patient=patient, doctor_email=doctor.email, scopes=["alerts"])
    doctor.user_roles.filter(role__name="doctor").delete()
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_grants_of_another_patient_are_not_mixed_in(patient):
    other = UserFactory()
    caregiver_grant(other, UserFactory())
    assert list(care_grantees(patient_id=patient.pk, scope="alerts")) == []


def test_it_answers_a_queryset_in_two_queries(patient, django_assert_num_queries):
    for _ in range(3):
        caregiver_grant(patient, UserFactory())
    with django_assert_num_queries(2):
        assert len(list(care_grantees(patient_id=patient.pk, scope="alerts"))) == 3
    assert care_grantees(patient_id=patient.pk, scope="alerts").filter(email__startswith="person").count() == 3
