"""The three roles exist from the first migration on, with the ids of fixtures/initial_roles.json."""

from django.db import migrations

ROLES = [
    ("6f1d0c3e-0d6a-4d37-9a53-1f4f6d0b7a01", "user", "A person who keeps their own health data."),
    ("6f1d0c3e-0d6a-4d37-9a53-1f4f6d0b7a02", "doctor", "A clinician; sees a patient's data only under the patient's grant."),
    ("6f1d0c3e-0d6a-4d37-9a53-1f4f6d0b7a03", "admin", "Runs the service; manages roles."),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for pk, name, description in ROLES:
        Role.objects.update_or_create(name=name, defaults={"id": pk, "description": description})


def remove_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    Role.objects.filter(name__in=[name for _, name, _ in ROLES], holders__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_roles, remove_roles)]
