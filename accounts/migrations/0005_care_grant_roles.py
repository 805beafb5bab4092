"""Care-team grants gain a role and a nullable grantee (a caregiver invitation has none until accepted), the
invited address and the invitation's hashed token. Schema only: 0006 fills the new columns of existing rows."""

import accounts.models
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_audit_append_only_trigger'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='careteamgrant',
            name='accounts_caregrant_one_live_per_pair',
        ),
        migrations.RemoveConstraint(
            model_name='careteamgrant',
            name='accounts_caregrant_not_self',
        ),
        migrations.RemoveIndex(
            model_name='careteamgrant',
            name='accounts_ca_doctor__ff843b_idx',
        ),
        # The doctor becomes the grantee: same column data, now nullable until a caregiver accepts an invitation.
        migrations.RenameField(
            model_name='careteamgrant',
            old_name='doctor',
            new_name='grantee',
        ),
        migrations.AlterField(
            model_name='careteamgrant',
            name='grantee',
            field=models.ForeignKey(blank=True, null=True, on_delete=accounts.models.grantee_erased, related_name='care_grants_received', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='careteamgrant',
            name='accepted_at',
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, null=True),
        ),
        migrations.AddField(
            model_name='careteamgrant',
            name='invitation_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='careteamgrant',
            name='invitation_token_hash',
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='careteamgrant',
            name='invited_email',
            field=models.EmailField(blank=True, help_text='The address the patient named.', max_length=254),
        ),
        migrations.AddField(
            model_name='careteamgrant',
            name='role',
            field=models.CharField(choices=[('doctor', 'Doctor'), ('caregiver', 'Caregiver')], default='doctor', max_length=16),
        ),
        migrations.AlterField(
            model_name='securityevent',
            name='event_type',
            field=models.CharField(choices=[('login', 'Login'), ('login_failed', 'Failed login'), ('locked_out', 'Locked out'), ('password_changed', 'Password changed'), ('password_reset', 'Password reset'), ('grant_created', 'Care-team grant created'), ('grant_revoked', 'Care-team grant revoked'), ('care_invitation_sent', 'Caregiver invitation sent'), ('care_invitation_accepted', 'Caregiver invitation accepted'), ('device_key_rotated', 'Device key rotated'), ('account_deleted', 'Account deleted')], max_length=32),
        ),
        migrations.AddIndex(
            model_name='careteamgrant',
            index=models.Index(fields=['grantee', 'patient', 'revoked_at'], name='accounts_ca_grantee_f47477_idx'),
        ),
        migrations.AddIndex(
            model_name='careteamgrant',
            index=models.Index(fields=['patient', 'revoked_at'], name='accounts_ca_patient_04be63_idx'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.UniqueConstraint(condition=models.Q(('grantee__isnull', False), ('revoked_at__isnull', True)), fields=('patient', 'grantee'), name='accounts_caregrant_one_live_per_grantee'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.UniqueConstraint(models.F('patient'), django.db.models.functions.text.Lower('invited_email'), condition=models.Q(('revoked_at__isnull', True), models.Q(('invited_email', ''), _negated=True)), name='accounts_caregrant_one_live_per_address'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.CheckConstraint(condition=models.Q(('patient', models.F('grantee')), _negated=True), name='accounts_caregrant_not_self'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['doctor', 'caregiver'])), name='accounts_caregrant_role_valid'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.CheckConstraint(condition=models.Q(('grantee__isnull', False), models.Q(('invited_email', ''), _negated=True), _connector='OR'), name='accounts_caregrant_has_party'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.CheckConstraint(condition=models.Q(('accepted_at__isnull', True), ('grantee__isnull', False), ('revoked_at__isnull', False), _connector='OR'), name='accounts_caregrant_live_accepted_has_grantee'),
        ),
        migrations.AddConstraint(
            model_name='careteamgrant',
            constraint=models.CheckConstraint(condition=models.Q(('role', 'caregiver'), ('accepted_at__isnull', False), _connector='OR'), name='accounts_caregrant_only_caregivers_are_invited'),
        ),
    ]
