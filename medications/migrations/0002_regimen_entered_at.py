"""When the person entered a regimen: doses before it are pending until logged, never missed (0003 fills it in)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("medications", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="regimen",
            name="entered_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
