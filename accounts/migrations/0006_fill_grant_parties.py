"""Existing grants are doctors' grants, in force since they were made, to the doctor's address.

Backwards: the schema before 0005 holds only doctors' grants with a doctor, so grants without a grantee (pending
invitations, grants of erased grantees) cannot be kept and are removed, and caregivers' grants are revoked
first: under the old schema they would read as doctors' grants.
"""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone


def forward(apps, schema_editor):
    CareTeamGrant = apps.get_model("accounts", "CareTeamGrant")
    User = apps.get_model("accounts", "User")
    email_of_grantee = Subquery(User.objects.filter(pk=OuterRef("grantee_id")).values("email")[:1])
    CareTeamGrant.objects.filter(invited_email="", grantee__isnull=False).update(invited_email=email_of_grantee)
    CareTeamGrant.objects.filter(role="doctor").update(accepted_at=F("created_at"))


def backward(apps, schema_editor):
    CareTeamGrant = apps.get_model("accounts", "CareTeamGrant")
    CareTeamGrant.objects.filter(role="caregiver", revoked_at__isnull=True).update(revoked_at=timezone.now())
    CareTeamGrant.objects.filter(grantee__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_care_grant_roles")]

    operations = [migrations.RunPython(forward, backward)]
