# Encrypts the emergency contacts stored before 0003 (their columns still hold plaintext, which the field reads
# as it is). Reversible: backwards, the plaintext is written back, so that 0003 can be reversed to plain columns.

from django.db import migrations, models
from django.db.models import Value

FIELDS = ("name", "phone_number", "email")
BATCH = 500


def _rows(EmergencyContact):
    pks = list(EmergencyContact.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), BATCH):
        yield from EmergencyContact.objects.filter(pk__in=pks[start : start + BATCH])


def encrypt(apps, schema_editor):
    EmergencyContact = apps.get_model("notifications", "EmergencyContact")
    for contact in _rows(EmergencyContact):
        # Read as plaintext (legacy values pass through), written back through the field: encrypted.
        EmergencyContact.objects.filter(pk=contact.pk).update(**{f: getattr(contact, f) for f in FIELDS})


def decrypt(apps, schema_editor):
    EmergencyContact = apps.get_model("notifications", "EmergencyContact")
    for contact in _rows(EmergencyContact):
        # A Value with a plain output field bypasses the encrypting field: the column gets the plaintext.
        plain = {f: Value(getattr(contact, f), output_field=models.TextField()) for f in FIELDS}
        EmergencyContact.objects.filter(pk=contact.pk).update(**plain)


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0003_emergency_contact_encrypted_columns"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt),
    ]
