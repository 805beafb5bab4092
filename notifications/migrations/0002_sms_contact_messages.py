# Contacts are told by e-mail or SMS: the SMS channel (contacts only, as the check constraint says) and the
# message contacts read, kept on the notification.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="notificationdelivery",
            name="notif_delivery_contact_by_email",
        ),
        migrations.AlterField(
            model_name="notificationdelivery",
            name="channel",
            field=models.CharField(
                choices=[("in_app", "In-app"), ("email", "E-mail"), ("push", "Push"), ("sms", "SMS")], max_length=16
            ),
        ),
        migrations.AddConstraint(
            model_name="notificationdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("channel__in", ("in_app", "email", "push")), ("contact__isnull", True)),
                    models.Q(("channel__in", ("email", "sms")), ("contact__isnull", False)),
                    _connector="OR",
                ),
                name="notif_delivery_channel_fits_recipient",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="contact_message",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
