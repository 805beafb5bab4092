"""People, their medical profile, their roles, and the single-use tokens that verify their e-mail."""

from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from jeghealth_backend.encryption import EncryptedTextField

from .choices import AuditAction, BloodType, Gender, PreferredUnits, RoleName, SecurityEventType, SessionScope


class UserManager(BaseUserManager):
    """Creates users with a normalised e-mail; every account holds the `user` role, a superuser also `admin`."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email(email), **extra)
        if not user.username:
            user.username = user.email
        user.set_password(password)
        user.save(using=self._db)
        UserProfile.objects.get_or_create(user=user)
        roles = [RoleName.USER] + ([RoleName.ADMIN] if user.is_superuser else [])
        for name in roles:
            role, _ = Role.objects.get_or_create(name=name)
            UserRole.objects.get_or_create(user=user, role=role)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        extra.setdefault("is_email_verified", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str):
        return self.get(email__iexact=normalize_email(email))


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively everywhere, so they are stored lower-cased."""
    return (email or "").strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    """A person: patient, doctor or admin. Logs in with the e-mail; identified by a UUID everywhere."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    username = models.CharField(max_length=150, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    is_email_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    # What `createsuperuser` insists on; names are optional (the command reads them when given).
    REQUIRED_FIELDS = ["username"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class UserProfile(models.Model):
    """The medical profile: one per user, created with the account. Timezone decides the person's calendar."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(280)],
    )
    blood_type = models.CharField(max_length=3, choices=BloodType.choices, blank=True)
    gender = models.CharField(max_length=24, choices=Gender.choices, blank=True)
    medical_conditions = EncryptedTextField(blank=True)
    allergies = EncryptedTextField(blank=True)
    current_medications_notes = EncryptedTextField(blank=True)
    emergency_notes = EncryptedTextField(blank=True)
    preferred_units = models.CharField(max_length=8, choices=PreferredUnits.choices, default=PreferredUnits.METRIC)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user_id}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or "UTC")


class Role(models.Model):
    """A named role: `user`, `doctor` or `admin` (fixtures/initial_roles.json)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=32, unique=True, choices=RoleName.choices)
    description = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name


class UserRole(models.Model):
    """A role held by a user; who granted it and when."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="holders")
    granted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="accounts_userrole_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role_id}"


class EmailVerificationToken(models.Model):
    """A single-use, expiring token that proves the owner reads the address. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"])]

    def __str__(self) -> str:
        return f"verification for {self.user_id}"


class CareTeamGrant(models.Model):
    """A patient's permission for a doctor to see (and where an app allows, change) data of some scopes.

    Live while not revoked and not expired; checked on every request, so revocation and expiry act at once.
    At most one live grant per patient and doctor: granting again replaces the previous one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_grants_given")
    doctor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_grants_received")
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "doctor"],
                condition=models.Q(revoked_at__isnull=True),
                name="accounts_caregrant_one_live_per_pair",
            ),
            models.CheckConstraint(condition=~models.Q(patient=models.F("doctor")), name="accounts_caregrant_not_self"),
        ]
        indexes = [models.Index(fields=["doctor", "patient", "revoked_at"])]

    def __str__(self) -> str:
        return f"grant {self.patient_id} -> {self.doctor_id}"


class AuditEvent(models.Model):
    """Append-only record of someone other than the patient reading or changing the patient's data.

    Written in the same request as the access. Never updated; rows go only with the patient's own erasure.
    On PostgreSQL a trigger refuses UPDATE outright.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="audit_events_as_actor")
    patient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="audit_events")
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.resource_type} of {self.patient_id} by {self.actor_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class SecurityEvent(models.Model):
    """Sign-ins, failed sign-ins, password changes, grant changes, key rotations: who, what, from where."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="security_events")
    event_type = models.CharField(max_length=32, choices=SecurityEventType.choices)
    identifier = models.CharField(max_length=254, blank=True, help_text="The login name tried, for failed logins.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.user_id or self.identifier}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Security events are append-only.")
        super().save(*args, **kwargs)


class AuthSession(models.Model):
    """One signed-in session: a refresh-token family, from a sign-in through every rotation of its refresh token.

    Its id is the `sid` claim of every access and refresh token issued in it; authentication refuses a token whose
    session has ended (accounts/authentication.py), so ending a session stops its tokens on their next request.
    `refresh_jti` is the family's current refresh token (its predecessors are blacklisted by rotation), so ending
    the session also blacklists that one. `scope` limits an enrolment session's tokens to the MFA endpoints.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    scope = models.CharField(max_length=16, choices=SessionScope.choices, default=SessionScope.FULL)
    refresh_jti = models.CharField(max_length=255, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-last_used_at"], name="accounts_session_user_used_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=SessionScope.values), name="accounts_session_scope_valid")
        ]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"


class TotpDevice(models.Model):
    """A person's authenticator app (RFC 6238 TOTP). On once `confirmed_at` is set by a first correct code.

    The secret is encrypted at rest and shown only when enrolment starts. `last_used_step` is the time step of
    the last code accepted: a code is accepted only for a later step, so none works twice (replay).
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="totp_device")
    secret = EncryptedTextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"authenticator of {self.user_id}"


class RecoveryCode(models.Model):
    """A single-use code that stands in for a TOTP code. Only the SHA-256 of the (80-bit random) code is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class MfaChallenge(models.Model):
    """The second step of a sign-in with MFA on: issued after the right password, short-lived and single-use.

    Only the SHA-256 of the challenge is kept. It ends when used, or after MFA_CHALLENGE_MAX_FAILURES wrong codes.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_challenges")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sign-in challenge of {self.user_id}"
