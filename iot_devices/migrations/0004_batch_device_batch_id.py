"""DeviceDataBatch.batch_id is the device's own id of an upload: named device_batch_id (issue 21, point 7). The API
still calls it `batch_id` (the serializers' source).

In the database the column is renamed and the unique key (device, device_batch_id) follows it as it is, under its
name: the constraint is dropped and added again in Django's state only, so no index is rebuilt."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("iot_devices", "0003_verbose_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RenameField(model_name="devicedatabatch", old_name="batch_id", new_name="device_batch_id"),
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="devicedatabatch", name="iot_batch_device_batch_id_unique"),
                migrations.RenameField(model_name="devicedatabatch", old_name="batch_id", new_name="device_batch_id"),
                migrations.AddConstraint(
                    model_name="devicedatabatch",
                    constraint=models.UniqueConstraint(
                        fields=("device", "device_batch_id"), name="iot_batch_device_batch_id_unique"
                    ),
                ),
            ],
        ),
    ]
