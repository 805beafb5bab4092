"""Writes of reports: the request, the generation (claimed once, stored once), the sweeper and the purge.

A request stores a `pending` row and enqueues `reports.generate` after commit; a broker that is down loses
nothing, because the row is the outbox: the sweeper (`reports_requeue_stale`, every two minutes) enqueues again
every report left `pending` for a few minutes, and every `running` one whose worker's lease ran out. Generation
claims the row with a conditional update, renders and stores the file with no transaction open (slow I/O), then
finishes the row only while it still holds the claim; a duplicate or late message finds nothing to claim. After
MAX_ATTEMPTS claims a report is failed (its workers keep dying). Rendering errors fail the report with the error
recorded, never retried; storage errors release the claim for a retry.
"""

from __future__ import annotations

import enum
import logging
import tempfile
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from accounts.access import grant_covers
from accounts.audit import audit_record
from accounts.choices import AuditAction, CareScope
from accounts.models import User

from . import storage
from .choices import UNFINISHED_STATUSES, ReportStatus
from .exceptions import ReportStorageUnavailable, StorageUnavailable, TooManyReports
from .models import Report

logger = logging.getLogger(__name__)

# A claimed report belongs to its worker this long: past CELERY_TASK_TIME_LIMIT, so a live render is never taken
# over, while one whose worker died is picked up by the sweeper.
LEASE = timedelta(minutes=10)
# A pending report nobody enqueued (or whose message was lost) for this long is enqueued again.
STALE_AFTER = timedelta(minutes=3)
MAX_ATTEMPTS = 5
MAX_UNFINISHED_PER_PERSON = 5
MAX_SPAN_DAYS = 366
REQUEUE_BATCH = 200
PURGE_BATCH = 500
# Rendered files stay in memory up to this size, then spill to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class Outcome(enum.Enum):
    READY = "ready"
    FAILED = "failed"
    SKIPPED = "skipped"  # missing, finished, or claimed by a live worker: nothing to do


def report_request(
    *, user: User, data: dict[str, Any], patient: User | None = None, now: datetime | None = None, request=None
) -> Report:
    """Record a report request of USER (DATA: the input serializer's typed fields); generation is enqueued after
    commit. Raises TooManyReports while MAX_UNFINISHED_PER_PERSON of the person's reports are unfinished.

    PATIENT: a doctor's report of that patient's data, which the caller has checked USER may read under a live
    `health_metrics` grant; the report is USER's and names the patient, and the request is an audited export.
    """
    now = now or timezone.now()
    if patient is not None and patient.pk == user.pk:
        patient = None
    with transaction.atomic():
        # One person's requests one at a time, so that the cap below cannot be raced past.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        unfinished = Report.objects.filter(user=user, status__in=UNFINISHED_STATUSES, expires_at__gt=now).count()
        if unfinished >= MAX_UNFINISHED_PER_PERSON:
            raise TooManyReports(MAX_UNFINISHED_PER_PERSON)
        report = Report.objects.create(
            user=user,
            patient=patient,
            report_type=data["report_type"],
            format=data["format"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            metric_types=sorted(set(data.get("metric_types") or [])),
            created_at=now,
            expires_at=now + timedelta(days=settings.REPORT_RETENTION_DAYS),
        )
        if patient is not None:
            audit_record(
                actor=user,
                patient=patient,
                action=AuditAction.EXPORT,
                resource_type="report",
                resource_ids=[str(report.pk)],
                request=request,
            )
        transaction.on_commit(partial(report_enqueue, report_id=report.pk))
    logger.info("report_requested", extra={"report_id": str(report.pk), "user_id": str(user.pk)})
    return report


def report_enqueue(*, report_id) -> bool:
    """Hand the report to the `reports` queue; False (logged) when the broker cannot be reached."""
    from .tasks import generate_report  # tasks import this module

    try:
        generate_report.delay(str(report_id))
    except (BrokerError, RedisError, OSError):
        logger.exception("report_enqueue_failed", extra={"report_id": str(report_id)})
        return False
    Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(enqueued_at=timezone.now())
    return True


def _claim(report_id, token: uuid.UUID, now: datetime) -> bool:
    return bool(
        Report.objects.filter(pk=report_id)
        .filter(Q(status=ReportStatus.PENDING) | Q(status=ReportStatus.RUNNING, lease_expires_at__lte=now))
        .update(
            status=ReportStatus.RUNNING,
            claim_token=token,
            lease_expires_at=now + LEASE,
            started_at=now,
            attempts=F("attempts") + 1,
        )
    )


def _fail(report_id, token: uuid.UUID, error: str) -> None:
    Report.objects.filter(pk=report_id, claim_token=token, status=ReportStatus.RUNNING).update(
        status=ReportStatus.FAILED, error=error[:500], completed_at=timezone.now(), lease_expires_at=None
    )


def report_generate(*, report_id, now: datetime | None = None) -> Outcome:
    """Generate one report, if it still needs generating. Safe to call any number of times, concurrently too.

    Raises ReportStorageUnavailable when the file could not be stored (the report is `pending` again).
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    if not _claim(report_id, token, now):
        logger.info("report_not_claimed", extra={"report_id": str(report_id)})
        return Outcome.SKIPPED
    report = Report.objects.select_related("user__profile", "patient__profile").get(pk=report_id)
    if report.patient_id and not grant_covers(
        grantee=report.user, patient_id=report.patient_id, scope=CareScope.HEALTH_METRICS
    ):
        # The grant ended between the request and the generation: nothing of the patient is read any more.
        _fail(report_id, token, "The patient's grant no longer allows this report.")
        return Outcome.FAILED
    if report.attempts > MAX_ATTEMPTS:
        _fail(report_id, token, f"Generation was abandoned after {MAX_ATTEMPTS} attempts.")
        logger.error("report_abandoned", extra={"report_id": str(report_id), "attempts": report.attempts})
        return Outcome.FAILED

    from .formats import format_for  # matplotlib and reportlab load in workers only, not in every web process

    fmt = format_for(report.format)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        try:
            fmt.render(report=report, out=out, now=now)
        except Exception as exc:
            # Whatever breaks a render (a bug, data it cannot draw) breaks it again on a retry: record, don't retry.
            logger.exception("report_render_failed", extra={"report_id": str(report_id)})
            _fail(report_id, token, f"The report could not be generated ({type(exc).__name__}).")
            return Outcome.FAILED
        size = out.tell()
        out.seek(0)
        try:
            name = storage.save(report, out)
        except StorageUnavailable as exc:
            logger.warning("report_storage_unavailable", extra={"report_id": str(report_id), "error": str(exc)})
            Report.objects.filter(pk=report_id, claim_token=token, status=ReportStatus.RUNNING).update(
                status=ReportStatus.PENDING, claim_token=None, lease_expires_at=None
            )
            raise ReportStorageUnavailable(str(exc)) from exc

    finished = Report.objects.filter(pk=report_id, claim_token=token, status=ReportStatus.RUNNING).update(
        status=ReportStatus.READY,
        file_name=name,
        file_size=size,
        error="",
        completed_at=timezone.now(),
        lease_expires_at=None,
    )
    if not finished:
        # Our lease ran out and another delivery took over: it writes the same name, so nothing is left behind.
        logger.warning("report_claim_lost", extra={"report_id": str(report_id)})
        return Outcome.SKIPPED
    logger.info("report_ready", extra={"report_id": str(report_id), "bytes": size})
    return Outcome.READY


def reports_requeue_stale(*, now: datetime | None = None, limit: int = REQUEUE_BATCH) -> int:
    """Enqueue again the reports a worker should have finished; returns how many were enqueued.

    `pending` ones created over STALE_AFTER ago and not enqueued within STALE_AFTER (the enqueue failed or the
    message was lost), and `running` ones whose lease ran out (the worker died). Each is claimed once by
    whichever delivery comes first.
    """
    now = now or timezone.now()
    stale = now - STALE_AFTER
    ids = list(
        Report.objects.filter(
            Q(status=ReportStatus.PENDING, created_at__lte=stale)
            & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale))
            | Q(status=ReportStatus.RUNNING, lease_expires_at__lte=now)
        )
        .filter(expires_at__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    enqueued = sum(1 for report_id in ids if report_enqueue(report_id=report_id))
    if ids:
        logger.info("reports_requeued", extra={"found": len(ids), "enqueued": enqueued})
    return enqueued


def reports_purge_expired(*, now: datetime | None = None, limit: int = PURGE_BATCH) -> int:
    """Delete reports past their `expires_at` with their files, then the files whose report no longer exists (an
    erased account's, or an attempt's file of a report that never became ready); returns how many reports were
    deleted. A file that cannot be deleted keeps its row, and is tried again on the next run."""
    now = now or timezone.now()
    deleted = 0
    expired = Report.objects.filter(expires_at__lte=now).order_by("expires_at").values_list("pk", "file_name")
    for report_id, file_name in list(expired[:limit]):
        try:
            storage.delete(file_name)
        except StorageUnavailable:
            logger.warning("report_file_delete_failed", extra={"report_id": str(report_id)})
            continue
        deleted += Report.objects.filter(pk=report_id, expires_at__lte=now).delete()[0]
    orphans = _purge_orphan_files()
    if deleted or orphans:
        logger.info("reports_purged", extra={"reports": deleted, "orphan_files": orphans})
    return deleted


def _purge_orphan_files() -> int:
    try:
        stored = storage.stored_report_ids()
    except StorageUnavailable:
        logger.warning("report_orphan_listing_failed")
        return 0
    if not stored:
        return 0
    existing = set(Report.objects.filter(pk__in=list(stored)).values_list("pk", flat=True))
    removed = 0
    for report_id, name in stored.items():
        if report_id in existing:
            continue
        try:
            storage.delete(name)
        except StorageUnavailable:
            continue
        removed += 1
    return removed
