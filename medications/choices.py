from django.db import models


class Frequency(models.TextChoices):
    """How often a regimen's doses fall; every frequency but `as_needed` generates scheduled doses."""

    ONCE_DAILY = "once_daily", "Once daily"
    TWICE_DAILY = "twice_daily", "Twice daily"
    THREE_TIMES_DAILY = "three_times_daily", "Three times daily"
    FOUR_TIMES_DAILY = "four_times_daily", "Four times daily"
    EVERY_N_HOURS = "every_n_hours", "Every N hours"
    WEEKLY = "weekly", "Weekly"
    AS_NEEDED = "as_needed", "As needed"


class DoseForm(models.TextChoices):
    TABLET = "tablet", "Tablet"
    CAPSULE = "capsule", "Capsule"
    LIQUID = "liquid", "Liquid"
    INJECTION = "injection", "Injection"
    INHALER = "inhaler", "Inhaler"
    SPRAY = "spray", "Spray"
    DROPS = "drops", "Drops"
    TOPICAL = "topical", "Cream, gel or ointment"
    PATCH = "patch", "Patch"
    SUPPOSITORY = "suppository", "Suppository"
    POWDER = "powder", "Powder"
    OTHER = "other", "Other"


class DosageUnit(models.TextChoices):
    MG = "mg", "mg"
    MCG = "mcg", "mcg"
    G = "g", "g"
    ML = "ml", "mL"
    IU = "iu", "IU"
    UNITS = "units", "units"
    MEQ = "meq", "mEq"
    TABLET = "tablet", "tablet(s)"
    CAPSULE = "capsule", "capsule(s)"
    PUFF = "puff", "puff(s)"
    DROP = "drop", "drop(s)"
    SPRAY = "spray", "spray(s)"
    PATCH = "patch", "patch(es)"
    APPLICATION = "application", "application(s)"


class DoseStatus(models.TextChoices):
    """What became of a dose. `pending` is never stored: it is a scheduled dose with no log yet."""

    PENDING = "pending", "Pending"
    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Skipped"
    MISSED = "missed", "Missed"


class LoggedStatus(models.TextChoices):
    """The states a person records; `missed` is only ever set by the periodic task."""

    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Skipped"


class Severity(models.TextChoices):
    MINOR = "minor", "Minor"
    MODERATE = "moderate", "Moderate"
    MAJOR = "major", "Major"
    CONTRAINDICATED = "contraindicated", "Contraindicated"


SEVERITY_RANK = {Severity.MINOR: 0, Severity.MODERATE: 1, Severity.MAJOR: 2, Severity.CONTRAINDICATED: 3}


class InteractionSide(models.TextChoices):
    """What one side of an interaction row names: a pharmacological class or a generic ingredient."""

    CLASS = "class", "Pharmacological class"
    INGREDIENT = "ingredient", "Generic ingredient"
