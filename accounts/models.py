"""People, their medical profile, their roles, the single-use tokens that verify their e-mail, care-team grants
and the audit trail."""

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

from .choices import (
    AuditAction,
    BloodType,
    Gender,
    GrantRole,
    GrantStatus,
    OrganizationRole,
    PreferredUnits,
    RoleName,
    SecurityEventType,
    SessionScope,
)


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


def grantee_erased(collector, field, sub_objs, using) -> None:
    """`on_delete` of `CareTeamGrant.grantee`: the grantee's erasure revokes the grants they hold and detaches them.

    The patient's record of the grant stays (who it was made to is `invited_email`, filled from the account if a
    grant was made without it); only the link to the erased account goes. Revocation is scheduled before the
    link is cleared, so that no row is ever live, accepted and without a grantee, which the database refuses
    (`accounts_caregrant_live_accepted_has_grantee`). Every deletion path (the API's erasure, the Django admin,
    a shell) goes through here, so the patient's grant never keeps pointing at nobody.
    """
    meta = field.model._meta
    if isinstance(sub_objs, models.QuerySet):
        live = sub_objs.filter(revoked_at__isnull=True)
        unnamed = sub_objs.filter(invited_email="")
    else:
        live = [grant for grant in sub_objs if grant.revoked_at is None]
        unnamed = [grant for grant in sub_objs if not grant.invited_email]
    # A grant made without the service (a shell, a fixture) may not name its address: take the account's now.
    address = models.Subquery(User.objects.filter(pk=models.OuterRef("grantee_id")).values("email")[:1])
    collector.add_field_update(meta.get_field("invited_email"), address, unnamed)
    collector.add_field_update(meta.get_field("revoked_at"), timezone.now(), live)
    collector.add_field_update(field, None, sub_objs)


grantee_erased.lazy_sub_objs = True


class CareTeamGrantQuerySet(models.QuerySet):
    def live(self) -> CareTeamGrantQuerySet:
        """Grants in force right now: accepted, neither revoked nor expired, to an account that may still hold them.

        A doctor's grant counts only while the grantee holds the `doctor` role; a caregiver's needs no role.
        """
        now = timezone.now()
        holds_doctor_role = models.Exists(
            UserRole.objects.filter(user=models.OuterRef("grantee"), role__name=RoleName.DOCTOR)
        )
        to_person = models.Q(grantee__isnull=False) & (models.Q(role=GrantRole.CAREGIVER) | holds_doctor_role)
        # A grant to an organization is in force for the organization; who reads under it is decided per reader
        # (`held_by`): its doctor members holding the doctor role, at the moment of the request.
        return (
            self.filter(revoked_at__isnull=True, accepted_at__isnull=False)
            .filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
            .filter(to_person | models.Q(organization__isnull=False))
        )

    def held_by(self, reader) -> CareTeamGrantQuerySet:
        """Grants READER reads under: made to READER, or to an organization in which READER is a doctor member
        and holds the doctor role. No cache: a removed member or a lost role counts from the next query."""
        doctor_of = OrganizationMembership.objects.filter(user=reader, role=OrganizationRole.DOCTOR).values(
            "organization_id"
        )
        is_doctor = UserRole.objects.filter(user=reader, role__name=RoleName.DOCTOR)
        return self.filter(
            models.Q(grantee=reader) | (models.Q(organization_id__in=doctor_of) & models.Q(models.Exists(is_doctor)))
        )


class CareTeamGrant(models.Model):
    """A patient's permission for someone to see data of some scopes: a doctor, or a caregiver they invited.

    - `role` `doctor`: made to an account holding the doctor role, in force at once (`accepted_at` is its
      creation); the doctor reads, and writes where an app allows it (prescriptions, appointment status).
    - `role` `caregiver`: made to any e-mail address (`invited_email`) as an invitation: `grantee` and
      `accepted_at` stay empty, and the grant gives nothing, until the account with that address accepts the
      single-use link (only its SHA-256 is stored, `invitation_token_hash`, until it is used). A caregiver reads,
      never writes.
    - Live (`CareTeamGrant.objects.live()`) while accepted, not revoked and not expired; checked on every
      request, so revocation and expiry act on the next one.
    - At most one live grant per patient and grantee, and per patient and address (the database says so):
      granting or inviting again replaces the previous one. Never to oneself.
    - `invited_email` is the address the patient named, kept when the grantee's account is erased (the grant is
      then revoked and `grantee` cleared, see `grantee_erased`).
    - `organization`: a grant to a clinic instead of a person (role `doctor`, no grantee, no address); every
      doctor member of the clinic reads under it while they are a member (`CareTeamGrantQuerySet.held_by`).
    - `accepted_at` defaults to the creation time: a grant is in force when made unless it is an invitation,
      which the service creates with `accepted_at=None` (and the database refuses an accepted grant without a
      grantee, so an invitation cannot be made live by forgetting that).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_grants_given")
    role = models.CharField(max_length=16, choices=GrantRole.choices, default=GrantRole.DOCTOR)
    grantee = models.ForeignKey(
        User, on_delete=grantee_erased, null=True, blank=True, related_name="care_grants_received"
    )
    invited_email = models.EmailField(max_length=254, blank=True, help_text="The address the patient named.")
    # A grant to a clinic: every doctor member reads under it (grantee and invited_email stay empty).
    organization = models.ForeignKey(
        "Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="care_grants"
    )
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invitation_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    invitation_expires_at = models.DateTimeField(null=True, blank=True)

    objects = CareTeamGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "grantee"],
                condition=models.Q(revoked_at__isnull=True, grantee__isnull=False),
                name="accounts_caregrant_one_live_per_grantee",
            ),
            models.UniqueConstraint(
                models.F("patient"),
                Lower("invited_email"),
                condition=models.Q(revoked_at__isnull=True) & ~models.Q(invited_email=""),
                name="accounts_caregrant_one_live_per_address",
            ),
            models.CheckConstraint(
                condition=~models.Q(patient=models.F("grantee")), name="accounts_caregrant_not_self"
            ),
            models.CheckConstraint(condition=models.Q(role__in=GrantRole.values), name="accounts_caregrant_role_valid"),
            models.CheckConstraint(
                condition=models.Q(grantee__isnull=False)
                | ~models.Q(invited_email="")
                | models.Q(organization__isnull=False),
                name="accounts_caregrant_has_party",
            ),
            models.CheckConstraint(
                condition=models.Q(organization__isnull=True)
                | models.Q(grantee__isnull=True, invited_email="", role=GrantRole.DOCTOR),
                name="accounts_caregrant_organization_alone",
            ),
            models.UniqueConstraint(
                fields=["patient", "organization"],
                condition=models.Q(revoked_at__isnull=True, organization__isnull=False),
                name="accounts_caregrant_one_live_per_organization",
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True)
                | models.Q(grantee__isnull=False)
                | models.Q(organization__isnull=False)
                | models.Q(revoked_at__isnull=False),
                name="accounts_caregrant_live_accepted_has_grantee",
            ),
            models.CheckConstraint(
                condition=models.Q(role=GrantRole.CAREGIVER) | models.Q(accepted_at__isnull=False),
                name="accounts_caregrant_only_caregivers_are_invited",
            ),
        ]
        indexes = [
            models.Index(fields=["grantee", "patient", "revoked_at"]),
            models.Index(fields=["patient", "revoked_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.role} grant {self.patient_id} -> {self.grantee_id or self.organization_id or 'invitation'}"

    @property
    def status(self) -> str:
        """invited, active, revoked or expired (an invitation whose link expired unused is expired too)."""
        now = timezone.now()
        if self.revoked_at is not None:
            return GrantStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return GrantStatus.EXPIRED
        if self.accepted_at is None:
            if self.invitation_expires_at is not None and self.invitation_expires_at <= now:
                return GrantStatus.EXPIRED
            return GrantStatus.INVITED
        return GrantStatus.ACTIVE

    @property
    def allows_write(self) -> bool:
        """A doctor may write where an app allows it; a caregiver never writes the patient's data."""
        return self.role == GrantRole.DOCTOR


class AuditEvent(models.Model):
    """Append-only record of someone other than the patient reading or changing the patient's data.

    Written in the same request as the access. Never updated; rows go only with the patient's own erasure.

    Who acted is stored on the row as it was at the time (`actor_account_id`, `actor_name`, `actor_email`), and
    the access log reads that snapshot: the patient's right to know who read their data outlives the reader's
    account. `actor` is only the link to the live account. When the actor erases their account, Django nulls
    that link (SET_NULL) and the snapshot stays.

    On PostgreSQL a trigger refuses every UPDATE but that one: `actor_id` going from an account to NULL with
    every other column unchanged (migration 0009). That keeps the foreign key a real constraint (the link never
    points at a missing account) and keeps the trail immutable: the snapshot, the action and the time cannot
    change, and a link can be dropped but never re-pointed. The alternative, an unconstrained `actor_id`
    (`db_constraint=False`, DO_NOTHING) would leave ids of erased accounts in a column that looks like a live
    reference, and would give up referential integrity for every row to spare one narrow exception.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="audit_events_as_actor")
    actor_account_id = models.UUIDField(null=True, blank=True, help_text="The actor's account id at the time.")
    actor_name = models.CharField(max_length=301, blank=True, help_text="The actor's name at the time.")
    actor_email = models.EmailField(max_length=254, blank=True, help_text="The actor's e-mail at the time.")
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
        return f"{self.action} {self.resource_type} of {self.patient_id} by {self.actor_account_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit events are append-only.")
        if self.actor_account_id is None and self.actor is not None:
            for name, value in self.actor_snapshot(self.actor).items():
                setattr(self, name, value)
        super().save(*args, **kwargs)

    @staticmethod
    def actor_snapshot(actor: User | None) -> dict:
        """The columns that keep who acted, as they are now (for rows being written)."""
        if actor is None:
            return {"actor_account_id": None, "actor_name": "", "actor_email": ""}
        return {"actor_account_id": actor.pk, "actor_name": actor.full_name[:301], "actor_email": actor.email}


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


class Organization(models.Model):
    """A clinic: it holds members (clinic admins, doctors, staff) and the grants patients make to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class OrganizationMembership(models.Model):
    """One person in one organization with one role; a person is a member at most once per organization."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="organization_memberships")
    role = models.CharField(max_length=16, choices=OrganizationRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="accounts_org_member_once"),
            models.CheckConstraint(
                condition=models.Q(role__in=OrganizationRole.values), name="accounts_org_member_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "role"], name="accounts_org_member_user_role")]

    def __str__(self) -> str:
        return f"{self.role} {self.user_id} in {self.organization_id}"
