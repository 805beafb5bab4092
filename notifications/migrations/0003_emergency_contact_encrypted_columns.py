# Emergency contacts' name, phone number and e-mail become encrypted columns (checklist B4). The constraint that
# a contact can be reached is restated with explicit `Exact` lookups (EncryptedTextField refuses lookups; an
# empty value is stored as ""). `notif_contact_notify_needs_email` goes: a contact asking to be told is told by
# e-mail or SMS, and `notif_contact_phone_or_email` already guarantees one of them. 0004 encrypts the rows.

import django.db.models.lookups
from django.db import migrations, models

import jeghealth_backend.encryption


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0002_sms_contact_messages"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="emergencycontact",
            name="notif_contact_phone_or_email",
        ),
        migrations.RemoveConstraint(
            model_name="emergencycontact",
            name="notif_contact_notify_needs_email",
        ),
        migrations.AlterField(
            model_name="emergencycontact",
            name="name",
            field=jeghealth_backend.encryption.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="emergencycontact",
            name="phone_number",
            field=jeghealth_backend.encryption.EncryptedTextField(blank=True, default=""),
        ),
        migrations.AlterField(
            model_name="emergencycontact",
            name="email",
            field=jeghealth_backend.encryption.EncryptedTextField(blank=True, default=""),
        ),
        migrations.AddConstraint(
            model_name="emergencycontact",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(django.db.models.lookups.Exact(models.F("phone_number"), ""), _negated=True),
                    models.Q(django.db.models.lookups.Exact(models.F("email"), ""), _negated=True),
                    _connector="OR",
                ),
                name="notif_contact_phone_or_email",
            ),
        ),
    ]
