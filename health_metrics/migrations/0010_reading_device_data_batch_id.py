"""A reading's batch_id is the id of our DeviceDataBatch row, not the device's own id of the upload: named
device_data_batch_id (issue 21, point 7). A column rename: no row is rewritten."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('health_metrics', '0009_imports'),
    ]

    operations = [
        migrations.RenameField(
            model_name='healthmetric',
            old_name='batch_id',
            new_name='device_data_batch_id',
        ),
    ]
