"""`GET care/patients/`: a doctor's or a caregiver's patients, one row each, in triage order.

A fixed number of queries whatever the number of patients, each read one query over all the patients it
concerns. For the order, over every patient: the live grants (personal and through an organization) with the
patients and their profiles, the newest reading's time, the open alert episodes counted by severity. For the
page answered only: the latest reading of each type (PostgreSQL: one LATERAL probe of the (user, type,
recorded_at) index per patient and type, so a year of readings costs what a day does), the daily rollups of
the last 7 local days, the doses of the last 7 days (two, medications'), the next appointment of each. Each
field is filled only for patients whose grants cover its scope (else null), and the order uses only what the
row shows: a patient whose alerts the reader may not see sorts as one with none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Max, Q, Sum, Window
from django.db.models.functions import RowNumber

from accounts.access import live_grants
from accounts.choices import CareScope
from accounts.models import User
from alerts.choices import EpisodeStatus, Severity
from alerts.models import AlertEpisode
from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from health_metrics.models import HealthMetric, HealthMetricSummary, Period
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES
from medications import selectors as medication_selectors

AVERAGE_DAYS = 7
ADHERENCE_DAYS = 7
UPCOMING = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


@dataclass
class Row:
    patient: User
    scopes: set[str] = field(default_factory=set)
    latest: dict | None = None
    averages_7d: dict | None = None
    open_alerts: dict | None = None
    last_data_at: datetime | None = None
    adherence_7d: float | None = None
    next_appointment: dict | None = None

    def triage_key(self) -> tuple:
        alerts = self.open_alerts or {"critical": 0, "warning": 0}
        # Most criticals, then most warnings, then the most recent data first; no data at all last.
        stamp = self.last_data_at.timestamp() if self.last_data_at else float("-inf")
        return (
            -alerts["critical"],
            -alerts["warning"],
            -stamp,
            self.patient.full_name.casefold(),
            str(self.patient.pk),
        )


def care_patients(*, reader: User, now: datetime) -> list[Row]:
    """READER's patients with a live grant, in triage order: each row holds its scopes and what the order needs
    (open alerts, `last_data_at`); `care_details` fills the rest for the rows of the page answered."""
    rows: dict = {}
    grants = live_grants(grantee=reader).filter(patient__is_active=True).select_related("patient__profile")
    for grant in grants:
        row = rows.setdefault(grant.patient_id, Row(patient=grant.patient))
        row.scopes.update(grant.scopes or [])
    rows.pop(reader.pk, None)
    metric_ids = _having(rows, CareScope.HEALTH_METRICS)
    if metric_ids:
        for user_id, last in _last_data(metric_ids):
            rows[user_id].last_data_at = last
    alert_ids = _having(rows, CareScope.ALERTS)
    if alert_ids:
        _fill_alerts(rows, alert_ids)
    return sorted(rows.values(), key=Row.triage_key)


def care_details(*, page: list[Row], now: datetime) -> None:
    """Fill the fields the order does not need (latest readings, averages, adherence, next appointment) for the
    rows of PAGE only: the default page of 20 costs what 20 patients do, not what all of them do."""
    rows = {row.patient.pk: row for row in page}
    metric_ids = _having(rows, CareScope.HEALTH_METRICS)
    if metric_ids:
        _fill_latest(rows, metric_ids)
        _fill_averages(rows, metric_ids, now)
    medication_ids = _having(rows, CareScope.MEDICATIONS)
    if medication_ids:
        people = {pid: rows[pid].patient.profile.tzinfo for pid in medication_ids}
        percents = medication_selectors.adherence_percent_of_people(people=people, days=ADHERENCE_DAYS, now=now)
        for pid, value in percents.items():
            rows[pid].adherence_7d = value
    appointment_ids = _having(rows, CareScope.APPOINTMENTS)
    if appointment_ids:
        _fill_appointments(rows, appointment_ids, now)


def _having(rows: dict, scope: str) -> list:
    return [pid for pid, row in rows.items() if scope in row.scopes]


def _last_data(patient_ids: list) -> list[tuple]:
    """(user_id, recorded_at of the newest reading) per patient with readings: one backward probe of the
    (user, recorded_at) index each on PostgreSQL (a GROUP BY would read every reading of the year)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(HealthMetric._meta.db_table)
        sql = (
            "SELECT p.id, h.recorded_at FROM unnest(%s::uuid[]) AS p(id) CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT m.recorded_at FROM {table} m WHERE m.user_id = p.id ORDER BY m.recorded_at DESC LIMIT 1) h"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(patient_ids)])
            return cursor.fetchall()
    newest = HealthMetric.objects.filter(user_id__in=patient_ids).values("user_id").annotate(last=Max("recorded_at"))
    return [(item["user_id"], item["last"]) for item in newest.order_by()]


def _latest_rows(patient_ids: list) -> list[tuple]:
    """(user_id, metric_type, value, systolic, diastolic, recorded_at) of each patient's latest reading per type."""
    columns = ("user_id", "metric_type", "value", "systolic_value", "diastolic_value", "recorded_at")
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(HealthMetric._meta.db_table)
        # Only the model's table name, quoted by the backend, goes into the text; the ids are parameters.
        sql = (
            "SELECT h.user_id, h.metric_type, h.value, h.systolic_value, h.diastolic_value, h.recorded_at "  # noqa: S608
            "FROM unnest(%s::uuid[]) AS p(id) CROSS JOIN unnest(%s::text[]) AS t(metric_type) "
            f"CROSS JOIN LATERAL (SELECT m.user_id, m.metric_type, m.value, m.systolic_value, m.diastolic_value, "
            f"m.recorded_at FROM {table} m WHERE m.user_id = p.id AND m.metric_type = t.metric_type "
            "ORDER BY m.recorded_at DESC, m.created_at DESC LIMIT 1) h"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(patient_ids), list(METRIC_TYPES)])
            return cursor.fetchall()
    # Elsewhere (SQLite in development): a window over the patients' readings, for the same rows.
    ranked = (
        HealthMetric.objects.filter(user_id__in=patient_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("user_id"), F("metric_type")],
                order_by=[F("recorded_at").desc(), F("created_at").desc()],
            )
        )
        .filter(rank=1)
    )
    return list(ranked.values_list(*columns))


def _fill_latest(rows: dict, patient_ids: list) -> None:
    for pid in patient_ids:
        rows[pid].latest = {}
    for user_id, metric_type, value, systolic, diastolic, recorded_at in _latest_rows(patient_ids):
        if metric_type not in CATALOG:
            continue
        row = rows[user_id]
        if CATALOG[metric_type].is_blood_pressure:
            entry: dict[str, Any] = {"systolic_value": systolic, "diastolic_value": diastolic}
        else:
            entry = {"value": value}
        row.latest[metric_type] = {**entry, "recorded_at": recorded_at}


def _fill_averages(rows: dict, patient_ids: list, now: datetime) -> None:
    """From the daily rollups of each patient's last 7 local days (today included) in their profile's timezone:
    the mean reading, or for types counted as totals (steps, calories, sleep) the mean daily total. Summed in
    SQL per patient and type (one row each), the window per timezone the patients live in."""
    zones = {rows[pid].patient.profile.timezone: rows[pid].patient.profile.tzinfo for pid in patient_ids}
    windows = Q()
    for tz_name, tz in zones.items():
        windows |= Q(tz_name=tz_name, period_start__gte=now.astimezone(tz).date() - timedelta(days=AVERAGE_DAYS - 1))
    sums = (
        HealthMetricSummary.objects.filter(
            windows,
            user_id__in=patient_ids,
            metric_type__in=list(METRIC_TYPES),
            period=Period.DAILY,
            # A rollup of another timezone than the profile's now is stale (the person moved): not used.
            tz_name=F("user__profile__timezone"),
        )
        .values("user_id", "metric_type")
        .annotate(
            days=Count("id"),
            readings=Sum("count"),
            total=Sum("sum"),
            systolic=Sum("systolic_sum"),
            diastolic=Sum("diastolic_sum"),
        )
        .order_by()
    )
    for pid in patient_ids:
        rows[pid].averages_7d = {}
    for item in sums:
        spec = CATALOG.get(item["metric_type"])
        if spec is None or not item["readings"]:
            continue
        readings = item["readings"]
        if spec.is_blood_pressure:
            value = {
                "systolic_value": round((item["systolic"] or 0.0) / readings, 1),
                "diastolic_value": round((item["diastolic"] or 0.0) / readings, 1),
            }
        elif spec.target_aggregate == "sum":
            value = {"value": round((item["total"] or 0.0) / item["days"], 1)}
        else:
            value = {"value": round((item["total"] or 0.0) / readings, 2)}
        rows[item["user_id"]].averages_7d[item["metric_type"]] = value


def _fill_alerts(rows: dict, patient_ids: list) -> None:
    for pid in patient_ids:
        rows[pid].open_alerts = {"critical": 0, "warning": 0}
    counts = (
        AlertEpisode.objects.filter(user_id__in=patient_ids, status=EpisodeStatus.OPEN)
        .values("user_id")
        .annotate(
            critical=Count("id", filter=Q(severity=Severity.CRITICAL)),
            warning=Count("id", filter=Q(severity=Severity.WARNING)),
        )
        .order_by()
    )
    for item in counts:
        rows[item["user_id"]].open_alerts = {"critical": item["critical"], "warning": item["warning"]}


def _fill_appointments(rows: dict, patient_ids: list, now: datetime) -> None:
    ranked = (
        Appointment.objects.filter(patient_id__in=patient_ids, start_time__gt=now, status__in=UPCOMING)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("patient_id")], order_by=[F("start_time").asc(), F("id").asc()])
        )
        .filter(rank=1)
        .values("id", "patient_id", "start_time", "end_time", "appointment_type", "status", "provider_name")
    )
    for item in ranked:
        rows[item.pop("patient_id")].next_appointment = item
