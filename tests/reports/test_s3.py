"""Report files on S3 (django-storages), against a local S3-compatible server (moto in server mode): the
detail answers a short-lived signed URL that works without a token."""

from __future__ import annotations

import socket
import urllib.request

import boto3
import pytest
from django.test import override_settings
from moto.server import ThreadedMotoServer

from reports import services

from .factories import ReportFactory, add_history

pytestmark = pytest.mark.django_db

BUCKET = "jeghealth-reports-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "storages.backends.s3.S3Storage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_S3_SIGNATURE_VERSION="s3v4",
        AWS_QUERYSTRING_AUTH=True,
        AWS_QUERYSTRING_EXPIRE=120,
        AWS_DEFAULT_ACL=None,
    ):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


class TestReportsOnS3:
    def test_the_signed_download_url_serves_the_pdf_without_a_token(self, bucket, s3_endpoint, client_a, user_a):
        add_history(user_a, days=5, metric_types=("heart_rate",))
        report = ReportFactory(user=user_a)
        assert services.report_generate(report_id=report.pk) is services.Outcome.READY
        assert _keys(bucket) == [f"reports/{report.pk}.pdf"]

        url = client_a.get(f"/api/v1/reports/{report.pk}/").json()["download_url"]
        assert url.startswith(f"{s3_endpoint}/{BUCKET}/reports/{report.pk}.pdf?")
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a local test server
            assert answer.headers["Content-Type"] == "application/pdf"
            assert "attachment" in answer.headers["Content-Disposition"]
            assert answer.read().startswith(b"%PDF-")

    def test_generating_twice_leaves_one_object_and_the_purge_deletes_it(self, bucket, user_a):
        report = ReportFactory(user=user_a, format="csv")
        services.report_generate(report_id=report.pk)
        report.refresh_from_db()
        report.status = "pending"
        report.save(update_fields=["status"])
        services.report_generate(report_id=report.pk)
        assert _keys(bucket) == [f"reports/{report.pk}.csv"]
        assert services.reports_purge_expired(now=report.expires_at) == 1
        assert _keys(bucket) == []
