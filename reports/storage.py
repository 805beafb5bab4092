"""Where report files live: Django's default storage (the local file system, or S3 when
`AWS_STORAGE_BUCKET_NAME` is set), under a name fixed by the report's id.

The name never changes between attempts (`reports/<id>.<ext>`), and an earlier attempt's file is removed before
saving, so generating a report twice leaves one file. Storages that sign URLs (S3 with querystring auth) give a
short-lived URL that needs no token; any other storage is served by this service's download endpoint, which
needs the owner's token.
"""

from __future__ import annotations

import logging
import uuid
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage

from .choices import ReportFormat
from .exceptions import StorageUnavailable
from .models import Report

logger = logging.getLogger(__name__)

PREFIX = "reports"
CONTENT_TYPES = {ReportFormat.PDF: "application/pdf", ReportFormat.CSV: "text/csv; charset=utf-8"}


def _storage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a requirement, but the local file system needs none
        return tuple(errors)
    return (*errors, BotoCoreError, ClientError)


def file_name_for(report: Report) -> str:
    return f"{PREFIX}/{report.pk}.{report.format}"


def download_name(report: Report) -> str:
    """What the person's browser saves the file as."""
    return f"jeghealth-{report.report_type.replace('_', '-')}-{report.start_date}-{report.end_date}.{report.format}"


def content_type(report: Report) -> str:
    return CONTENT_TYPES[report.format]


def save(report: Report, content: IO[bytes]) -> str:
    """Store CONTENT as the report's file, replacing an earlier attempt's; returns the stored name.

    Slow I/O: call it outside any transaction. Raises StorageUnavailable.
    """
    name = file_name_for(report)
    try:
        # FileSystemStorage would save beside an existing file under another name; S3 would overwrite. Either way
        # one file must remain, so an earlier attempt's is removed first.
        if default_storage.exists(name):
            default_storage.delete(name)
        stored = default_storage.save(name, File(content, name=name))
    except _storage_errors() as exc:
        raise StorageUnavailable(type(exc).__name__) from exc
    if stored != name:  # a concurrent writer got in between: keep ours under the fixed name only
        default_storage.delete(stored)
        raise StorageUnavailable("name_taken")
    return stored


def delete(name: str) -> None:
    """Delete a stored file; a file already gone is fine. Raises StorageUnavailable."""
    if not name:
        return
    try:
        default_storage.delete(name)
    except FileNotFoundError:
        return
    except _storage_errors() as exc:
        raise StorageUnavailable(type(exc).__name__) from exc


def stored_report_ids() -> dict[uuid.UUID, str]:
    """The report files in storage, by the report id their name holds: `{id: name}`. Raises StorageUnavailable."""
    try:
        _, files = default_storage.listdir(PREFIX)
    except FileNotFoundError:
        return {}
    except _storage_errors() as exc:
        raise StorageUnavailable(type(exc).__name__) from exc
    found: dict[uuid.UUID, str] = {}
    for file in files:
        stem = file.rsplit(".", 1)[0]
        try:
            found[uuid.UUID(stem)] = f"{PREFIX}/{file}"
        except ValueError:
            continue
    return found


def signs_urls() -> bool:
    """Whether the storage hands out signed URLs that work without our token (S3 with querystring auth)."""
    return bool(getattr(default_storage, "querystring_auth", False))


def signed_url(report: Report) -> str:
    """A short-lived URL of the file on the object store (AWS_QUERYSTRING_EXPIRE seconds)."""
    disposition = f'attachment; filename="{download_name(report)}"'
    return default_storage.url(report.file_name, parameters={"ResponseContentDisposition": disposition})


def open_file(report: Report):
    return default_storage.open(report.file_name, "rb")
