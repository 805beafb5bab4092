"""An appointment outlives its provider: `provider` becomes nullable (SET_NULL) and `provider_name` keeps the name
(0003 fills it in for the appointments booked before)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="provider_name",
            field=models.CharField(blank=True, max_length=301),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="provider",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="appointments_as_provider",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
