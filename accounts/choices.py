from django.db import models


class RoleName(models.TextChoices):
    USER = "user", "User"
    DOCTOR = "doctor", "Doctor"
    ADMIN = "admin", "Admin"


class BloodType(models.TextChoices):
    A_POS = "A+", "A+"
    A_NEG = "A-", "A-"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B-"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB-"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O-"


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNDISCLOSED = "prefer_not_to_say", "Prefer not to say"


class PreferredUnits(models.TextChoices):
    METRIC = "metric", "Metric"
    IMPERIAL = "imperial", "Imperial"


class CareScope(models.TextChoices):
    HEALTH_METRICS = "health_metrics", "Health metrics"
    MEDICATIONS = "medications", "Medications"
    APPOINTMENTS = "appointments", "Appointments"
    ALERTS = "alerts", "Alerts"


class GrantRole(models.TextChoices):
    """Who a grant is to: a doctor (may write where an app allows it) or a caregiver (reads, never writes)."""

    DOCTOR = "doctor", "Doctor"
    CAREGIVER = "caregiver", "Caregiver"


class OrganizationRole(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"
    DOCTOR = "doctor", "Doctor"
    STAFF = "staff", "Staff"


class GrantStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"


class SecurityEventType(models.TextChoices):
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOCKED_OUT = "locked_out", "Locked out"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    GRANT_CREATED = "grant_created", "Care-team grant created"
    GRANT_REVOKED = "grant_revoked", "Care-team grant revoked"
    CARE_INVITATION_SENT = "care_invitation_sent", "Caregiver invitation sent"
    CARE_INVITATION_ACCEPTED = "care_invitation_accepted", "Caregiver invitation accepted"
    DEVICE_KEY_ROTATED = "device_key_rotated", "Device key rotated"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"
    MFA_ENROLLED = "mfa_enrolled", "Two-factor authentication turned on"
    MFA_DISABLED = "mfa_disabled", "Two-factor authentication turned off"
    MFA_FAILED = "mfa_failed", "Wrong two-factor code"
    MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used", "Recovery code used"
    SESSION_ENDED = "session_ended", "Session signed out"
    ORGANIZATION_MEMBER_ADDED = "organization_member_added", "Organization member added"
    ORGANIZATION_MEMBER_REMOVED = "organization_member_removed", "Organization member removed"


class SessionScope(models.TextChoices):
    """What a session's tokens open: everything, or only the endpoints that turn on two-factor authentication."""

    FULL = "full", "Full"
    MFA_ENROLMENT = "mfa_enrolment", "Two-factor enrolment only"
