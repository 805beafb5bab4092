"""The medication catalog and interaction table (reference data from fixtures), and a person's regimens and doses.

Scheduled doses are not stored ahead of time: they are derived from the regimen (`schedule.py`). A `DoseLog` row
records what became of one dose (taken, skipped, or missed once the grace window passed), unique per
(regimen, scheduled_for), so the past stays as it was even when the schedule later changes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jeghealth_backend.encryption import EncryptedTextField

from .choices import DosageUnit, DoseForm, DoseStatus, Frequency, InteractionSide, Severity

atc_code_validator = RegexValidator(r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$", "An ATC code looks like C10AA01.")


class MedicationCategory(models.Model):
    """A therapeutic group of the catalog (cardiovascular, antibacterials, ...)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "medication categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Medication(models.Model):
    """One catalog entry: a generic medicine (or fixed combination) with its names, classes and ingredients.

    `ingredients` (lower-case generic names) and the classes (`pharmacological_class` plus `additional_classes`,
    e.g. "strong CYP3A4 inhibitor") are what interaction rows match against. `synonyms` are other generic names
    (acetaminophen for paracetamol); free text is matched case-insensitively against generic name, synonyms and
    brand names.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    generic_name = models.CharField(max_length=200, unique=True)
    synonyms = models.JSONField(default=list, blank=True)
    brand_names = models.JSONField(default=list, blank=True)
    atc_code = models.CharField(max_length=7, validators=[atc_code_validator])
    category = models.ForeignKey(MedicationCategory, on_delete=models.PROTECT, related_name="medications")
    pharmacological_class = models.CharField(max_length=120)
    additional_classes = models.JSONField(default=list, blank=True)
    ingredients = models.JSONField(default=list)
    forms = models.JSONField(default=list, blank=True)
    strengths = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["generic_name"]
        indexes = [models.Index(fields=["atc_code"], name="meds_medication_atc_idx")]

    def __str__(self) -> str:
        return self.generic_name

    @property
    def classes(self) -> list[str]:
        return [self.pharmacological_class, *self.additional_classes]

    @property
    def names(self) -> list[str]:
        return [self.generic_name, *self.synonyms, *self.brand_names]


class DrugInteraction(models.Model):
    """A well-established interaction between two sides, each a pharmacological class or a generic ingredient.

    Unordered: rows are stored with the sides in a canonical order (`clean()` normalises it) so that the unique
    constraint also refuses the mirrored duplicate. Every row cites its public source.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    a_kind = models.CharField(max_length=16, choices=InteractionSide.choices)
    a_value = models.CharField(max_length=120)
    b_kind = models.CharField(max_length=16, choices=InteractionSide.choices)
    b_value = models.CharField(max_length=120)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    description = models.CharField(max_length=500)
    source = models.CharField(max_length=300)
    source_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["a_value", "b_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["a_kind", "a_value", "b_kind", "b_value"], name="meds_interaction_pair_unique"
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="meds_interaction_severity_valid"),
            models.CheckConstraint(
                condition=Q(a_kind__in=InteractionSide.values, b_kind__in=InteractionSide.values),
                name="meds_interaction_kinds_valid",
            ),
            models.CheckConstraint(condition=~Q(source=""), name="meds_interaction_has_source"),
        ]

    def __str__(self) -> str:
        return f"{self.a_value} + {self.b_value} ({self.severity})"

    def clean(self) -> None:
        super().clean()
        if side_key(self.a_kind, self.a_value) > side_key(self.b_kind, self.b_value):
            self.a_kind, self.a_value, self.b_kind, self.b_value = self.b_kind, self.b_value, self.a_kind, self.a_value
        if self.a_kind == InteractionSide.INGREDIENT:
            self.a_value = self.a_value.strip().lower()
        if self.b_kind == InteractionSide.INGREDIENT:
            self.b_value = self.b_value.strip().lower()


def side_key(kind: str, value: str) -> tuple[str, str]:
    """The canonical order of interaction sides (independent of the database's collation)."""
    return (kind, value.casefold())


class Regimen(models.Model):
    """A medication a person takes on a schedule (or as needed), from `start_date` to `end_date` (local dates).

    Invariants: the schedule fields are normalised by the service (times sorted "HH:MM", their count consistent
    with the frequency). `schedule_from` is when the current schedule began generating doses (the start date's
    local midnight, or the moment of entry if later; then the last schedule change); earlier doses exist only as
    DoseLog rows. `entered_at` is when the person entered the regimen: its doses before then (a regimen started
    before the day it was entered) are pending until logged, never missed, so they count only once logged. Ending
    a regimen sets `is_active=False` and `ended_at`; no dose is derived after `ended_at`. `refill_reminded_at` is
    set when the refill reminder for the current crossing of the threshold has been sent, and cleared when the
    quantity goes back above it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="medication_regimens")
    medication = models.ForeignKey(Medication, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    dosage = models.DecimalField(max_digits=10, decimal_places=3)
    dosage_unit = models.CharField(max_length=16, choices=DosageUnit.choices)
    form = models.CharField(max_length=16, choices=DoseForm.choices)
    frequency = models.CharField(max_length=24, choices=Frequency.choices)
    interval_hours = models.PositiveSmallIntegerField(null=True, blank=True)
    days_of_week = models.JSONField(default=list, blank=True)
    schedule_times = models.JSONField(default=list, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    instructions = EncryptedTextField(blank=True)
    quantity_remaining = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    quantity_per_dose = models.DecimalField(max_digits=8, decimal_places=2, default=1)
    refill_threshold = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    refill_reminded_at = models.DateTimeField(null=True, blank=True)
    prescribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    schedule_from = models.DateTimeField(default=timezone.now)
    entered_at = models.DateTimeField(default=timezone.now)
    missed_checked_through = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(dosage__gt=0), name="meds_regimen_dosage_positive"),
            models.CheckConstraint(condition=Q(quantity_per_dose__gt=0), name="meds_regimen_per_dose_positive"),
            models.CheckConstraint(
                condition=Q(quantity_remaining__isnull=True) | Q(quantity_remaining__gte=0),
                name="meds_regimen_quantity_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(refill_threshold__isnull=True) | Q(refill_threshold__gte=0),
                name="meds_regimen_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="meds_regimen_end_after_start",
            ),
            models.CheckConstraint(condition=Q(frequency__in=Frequency.values), name="meds_regimen_frequency_valid"),
            models.CheckConstraint(
                condition=Q(frequency=Frequency.EVERY_N_HOURS, interval_hours__gte=1, interval_hours__lte=12)
                | (~Q(frequency=Frequency.EVERY_N_HOURS) & Q(interval_hours__isnull=True)),
                name="meds_regimen_interval_only_every_n_hours",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, ended_at__isnull=True) | Q(is_active=False, ended_at__isnull=False),
                name="meds_regimen_ended_iff_inactive",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "is_active", "-created_at"], name="meds_regimen_user_idx"),
            # The reminder task's scan: only active regimens with a reminder due are indexed.
            models.Index(
                fields=["next_reminder_at"], condition=Q(is_active=True), name="meds_regimen_reminder_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Regimen {self.id} of {self.user_id}"

    @property
    def is_as_needed(self) -> bool:
        return self.frequency == Frequency.AS_NEEDED


class DoseLog(models.Model):
    """What became of one dose: taken, skipped, or missed (set by the periodic task after the grace window).

    Unique per (regimen, scheduled_for): logging the same dose again updates the row. `user` repeats the
    regimen's owner so reads are scoped without a join. `scheduled` is false for an as-needed intake, which
    adherence leaves out. `taken_at` is set exactly when the status is `taken`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="dose_logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="medication_dose_logs")
    scheduled_for = models.DateTimeField()
    status = models.CharField(max_length=16, choices=DoseStatus.choices)
    taken_at = models.DateTimeField(null=True, blank=True)
    scheduled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["regimen", "scheduled_for"], name="meds_doselog_one_per_dose"),
            models.CheckConstraint(
                condition=Q(status__in=[DoseStatus.TAKEN, DoseStatus.SKIPPED, DoseStatus.MISSED]),
                name="meds_doselog_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=DoseStatus.TAKEN, taken_at__isnull=False)
                | (~Q(status=DoseStatus.TAKEN) & Q(taken_at__isnull=True)),
                name="meds_doselog_taken_at_iff_taken",
            ),
        ]
        indexes = [models.Index(fields=["user", "scheduled_for"], name="meds_doselog_user_time_idx")]

    def __str__(self) -> str:
        return f"Dose {self.id} of regimen {self.regimen_id}: {self.status}"
