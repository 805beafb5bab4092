"""The provider's name on every appointment booked before `provider_name` existed (as `User.full_name` makes it:
first and last name, or the username when both are empty)."""

from django.db import migrations


def fill_provider_names(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    rows = Appointment.objects.filter(provider_name="", provider__isnull=False).select_related("provider")
    for appointment in rows.iterator(chunk_size=500):
        provider = appointment.provider
        name = f"{provider.first_name} {provider.last_name}".strip() or provider.username
        Appointment.objects.filter(pk=appointment.pk).update(provider_name=name[:301])


class Migration(migrations.Migration):
    dependencies = [("appointments", "0002_provider_set_null")]

    # Backwards: 0002's reversal drops the column, so there is nothing to restore here.
    operations = [migrations.RunPython(fill_provider_names, migrations.RunPython.noop)]
