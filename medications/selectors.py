"""Reads of medications. The catalog is readable by anyone signed in; everything else is scoped to one person
(the acting user, or the patient a doctor acts for through `accounts.access`), so another person's regimen is 404."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from .adherence import adherence_report, statistics_report
from .doses import Dose, people_doses, person_doses, tz_of
from .models import DrugInteraction, Medication, MedicationCategory, Regimen


def category_list() -> QuerySet[MedicationCategory]:
    return MedicationCategory.objects.annotate(medication_count=Count("medications")).order_by("name")


def medication_list() -> QuerySet[Medication]:
    return Medication.objects.select_related("category").order_by("generic_name")


def medication_search(queryset: QuerySet[Medication], term: str) -> QuerySet[Medication]:
    """Narrow QUERYSET to entries whose generic name, synonyms or brand names contain TERM, in any case.

    The JSON list columns are matched as text: exact enough for a catalog of a few hundred entries, and the same
    on SQLite and PostgreSQL.
    """
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(generic_name__icontains=term) | Q(brand_names__icontains=term) | Q(synonyms__icontains=term)
    )


def interaction_list() -> QuerySet[DrugInteraction]:
    return DrugInteraction.objects.order_by("a_value", "b_value", "id")


def regimen_list(*, user) -> QuerySet[Regimen]:
    return (
        Regimen.objects.filter(user=user)
        .select_related("medication", "prescribed_by")
        .order_by("-is_active", "-created_at", "id")
    )


def regimen_get(*, user, regimen_id) -> Regimen:
    return get_object_or_404(regimen_list(user=user), pk=regimen_id)


def active_regimens(*, user, exclude_id=None) -> list[Regimen]:
    qs = Regimen.objects.filter(user=user, is_active=True).select_related("medication")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs)


def doses_for_day(*, user, day: date, now: datetime) -> list[Dose]:
    return person_doses(user=user, tz=tz_of(user), first_day=day, last_day=day, now=now)


def adherence(*, user, start_date: date, end_date: date, now: datetime) -> dict:
    doses = person_doses(user=user, tz=tz_of(user), first_day=start_date, last_day=end_date, now=now)
    return {"start_date": start_date, "end_date": end_date, **adherence_report(doses, now)}


def adherence_percent_of_people(*, people: dict, days: int, now: datetime) -> dict:
    """`{user_id: percent or None}`: each person's adherence over their last DAYS local days (PEOPLE:
    `{user_id: tzinfo}`), in two queries whatever the number of people."""
    doses = people_doses(people=people, days=days, now=now)
    return {user_id: adherence_report(items, now)["overall"]["percent"] for user_id, items in doses.items()}


def statistics(*, user, start_date: date, end_date: date, now: datetime) -> dict:
    tz = tz_of(user)
    doses = person_doses(user=user, tz=tz, first_day=start_date, last_day=end_date, now=now)
    return statistics_report(doses, tz=tz, first_day=start_date, last_day=end_date, now=now)
