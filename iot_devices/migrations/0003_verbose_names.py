"""Admin names: "IoT devices" (not "Io t devices") and "device data batches" (not "batchs"). No schema change."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("iot_devices", "0002_keys_batches_alerts")]

    operations = [
        migrations.AlterModelOptions(
            name="devicedatabatch",
            options={"verbose_name_plural": "device data batches"},
        ),
        migrations.AlterModelOptions(
            name="iotdevice",
            options={"verbose_name": "IoT device", "verbose_name_plural": "IoT devices"},
        ),
    ]
