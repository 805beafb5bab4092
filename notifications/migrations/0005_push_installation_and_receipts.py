# Expo's push receipts are polled once per sent push (receipts_checked_at, with the poller's partial index), and
# a push token remembers the app installation that registered it (a token moves to another account only from the
# same installation).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0004_encrypt_emergency_contacts"),
    ]

    operations = [
        migrations.AddField(
            model_name="notificationdelivery",
            name="receipts_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="notificationdelivery",
            index=models.Index(
                condition=models.Q(("channel", "push"), ("receipts_checked_at__isnull", True), ("status", "sent")),
                fields=["sent_at"],
                name="notif_delivery_receipts_idx",
            ),
        ),
        migrations.AddField(
            model_name="pushtoken",
            name="installation_id",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
    ]
