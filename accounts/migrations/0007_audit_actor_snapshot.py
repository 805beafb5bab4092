"""Audit rows keep a snapshot of who acted (account id, name, e-mail at the time). Schema only: 0008 fills it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_fill_grant_parties'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='actor_account_id',
            field=models.UUIDField(blank=True, help_text="The actor's account id at the time.", null=True),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='actor_email',
            field=models.EmailField(blank=True, help_text="The actor's e-mail at the time.", max_length=254),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='actor_name',
            field=models.CharField(blank=True, help_text="The actor's name at the time.", max_length=301),
        ),
    ]
