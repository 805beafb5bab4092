"""Existing regimens were entered when they began generating doses: the earlier of their creation and their first
`schedule_from` (a regimen created with a past `now`, as the demo does, has the earlier `schedule_from`). After a
schedule change `schedule_from` is later than the creation, so the creation is the entry."""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Least


def fill_entered_at(apps, schema_editor):
    Regimen = apps.get_model("medications", "Regimen")
    Regimen.objects.update(entered_at=Least(F("created_at"), F("schedule_from")))


class Migration(migrations.Migration):
    dependencies = [("medications", "0002_regimen_entered_at")]

    # Backwards: 0002's reversal drops the column, so there is nothing to restore here.
    operations = [migrations.RunPython(fill_entered_at, migrations.RunPython.noop)]
