"""`POST/GET reports/`, `GET reports/{id}/`, `GET reports/{id}/download/`."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from reports import services, tasks
from reports.models import Report

from .factories import ReportFactory, add_history

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


def _body(**overrides) -> dict:
    today = timezone.now().date()
    body = {
        "report_type": "health_summary",
        "format": "pdf",
        "start_date": (today - timedelta(days=6)).isoformat(),
        "end_date": today.isoformat(),
    }
    body.update(overrides)
    return body


def _ready(report: Report) -> Report:
    assert services.report_generate(report_id=report.pk) is services.Outcome.READY
    report.refresh_from_db()
    return report


class TestRequestReport:
    def test_it_needs_a_token(self, anon):
        response = anon.post(URL, _body(), format="json")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    def test_it_answers_202_with_the_id_and_status(self, client_a, user_a):
        with mock.patch.object(tasks.generate_report, "delay"):
            response = client_a.post(URL, _body(metric_types=["weight", "steps", "weight"]), format="json")
        assert response.status_code == 202
        body = response.json()
        assert set(body) == {"id", "status"}
        assert body["status"] == "pending"
        report = Report.objects.get(pk=body["id"])
        assert (report.user, report.format, report.metric_types) == (user_a, "pdf", ["steps", "weight"])

    def test_it_enqueues_generation_after_commit(self, client_a, user_a, django_capture_on_commit_callbacks):
        add_history(user_a, days=7, metric_types=("heart_rate",))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client_a.post(URL, _body(format="csv"), format="json")
        assert len(callbacks) == 1
        # Tasks run eagerly in tests: the enqueue after commit generated the report.
        assert Report.objects.get(pk=response.json()["id"]).status == "ready"

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"format": "docx"}, "format"),
            ({"report_type": "everything"}, "report_type"),
            ({"metric_types": ["mood"]}, "metric_types"),
            ({"start_date": "2025-02-30"}, "start_date"),
            ({"start_date": "2026-01-10", "end_date": "2026-01-09"}, "start_date"),
            ({"start_date": "2024-01-01", "end_date": "2025-12-31"}, "start_date"),
        ],
    )
    def test_an_invalid_request_answers_the_validation_envelope(self, client_a, overrides, field):
        response = client_a.post(URL, _body(**overrides), format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert field in error["fields"]
        assert not Report.objects.exists()

    def test_too_many_unfinished_reports_answer_429(self, client_a, user_a):
        for _ in range(services.MAX_UNFINISHED_PER_PERSON):
            ReportFactory(user=user_a)
        response = client_a.post(URL, _body(), format="json")
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "throttled"
        assert response["Retry-After"] == "30"


class TestGetReport:
    def test_it_needs_a_token(self, anon, user_a):
        report = ReportFactory(user=user_a)
        assert anon.get(f"{URL}{report.pk}/").status_code == 401

    def test_a_pending_report_has_no_download_url(self, client_a, user_a):
        report = ReportFactory(user=user_a)
        body = client_a.get(f"{URL}{report.pk}/").json()
        assert body["status"] == "pending"
        assert body["download_url"] is None

    def test_a_ready_report_has_an_authenticated_download_url_on_this_service(self, client_a, user_a):
        report = _ready(ReportFactory(user=user_a))
        response = client_a.get(f"{URL}{report.pk}/")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready"
        assert body["download_url"] == f"http://testserver/api/v1/reports/{report.pk}/download/"
        assert body["file_size"] == report.file_size > 0
        assert set(body) == {
            "id",
            "report_type",
            "format",
            "start_date",
            "end_date",
            "metric_types",
            "patient",
            "status",
            "error",
            "file_size",
            "created_at",
            "completed_at",
            "expires_at",
            "download_url",
        }
        assert body["patient"] is None

    def test_a_failed_report_says_why(self, client_a, user_a):
        report = ReportFactory(user=user_a, status="failed", error="The report could not be generated (ValueError).")
        body = client_a.get(f"{URL}{report.pk}/").json()
        assert (body["status"], body["error"]) == ("failed", "The report could not be generated (ValueError).")

    def test_returns_404_for_another_persons_report(self, client_b, user_a):
        report = _ready(ReportFactory(user=user_a))
        response = client_b.get(f"{URL}{report.pk}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_returns_404_for_an_expired_report(self, client_a, user_a):
        report = ReportFactory(user=user_a, expires_at=timezone.now() - timedelta(seconds=1))
        assert client_a.get(f"{URL}{report.pk}/").status_code == 404


class TestListReports:
    def test_it_lists_only_my_reports_newest_first(self, client_a, user_a, user_b):
        older = ReportFactory(user=user_a, created_at=timezone.now() - timedelta(hours=2))
        newer = ReportFactory(user=user_a)
        ReportFactory(user=user_b)
        body = client_a.get(URL).json()
        assert body["count"] == 2
        assert [item["id"] for item in body["results"]] == [str(newer.pk), str(older.pk)]

    def test_it_filters_by_status_and_format(self, client_a, user_a):
        ReportFactory(user=user_a, format="csv")
        pdf = ReportFactory(user=user_a, format="pdf", status="failed")
        body = client_a.get(URL, {"format": "pdf", "status": "failed"}).json()
        assert [item["id"] for item in body["results"]] == [str(pdf.pk)]

    def test_the_number_of_queries_does_not_grow_with_the_list(
        self, client_a, user_a, django_assert_num_queries, django_assert_max_num_queries
    ):
        for _ in range(3):
            ReportFactory(user=user_a, status="ready", file_name="reports/x.pdf")
        with django_assert_max_num_queries(4) as few:
            assert client_a.get(URL).status_code == 200
        for _ in range(15):
            ReportFactory(user=user_a, status="ready", file_name="reports/x.pdf")
        with django_assert_num_queries(len(few.captured_queries)):
            assert client_a.get(URL).json()["count"] == 18


class TestDownload:
    def test_the_owner_downloads_the_pdf(self, client_a, user_a):
        report = _ready(ReportFactory(user=user_a))
        response = client_a.get(f"{URL}{report.pk}/download/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        assert response["Cache-Control"] == "no-store"
        assert b"".join(response.streaming_content).startswith(b"%PDF-")

    def test_the_owner_downloads_the_csv(self, client_a, user_a):
        add_history(user_a, days=2, metric_types=("steps",))
        report = _ready(ReportFactory(user=user_a, format="csv"))
        response = client_a.get(f"{URL}{report.pk}/download/", HTTP_ACCEPT="text/csv")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert b"".join(response.streaming_content).startswith(b"id,metric_type,value")

    def test_it_needs_the_owners_token(self, anon, client_b, user_a):
        report = _ready(ReportFactory(user=user_a))
        assert anon.get(f"{URL}{report.pk}/download/").status_code == 401
        assert client_b.get(f"{URL}{report.pk}/download/").status_code == 404

    def test_a_report_not_ready_answers_409(self, client_a, user_a):
        report = ReportFactory(user=user_a)
        response = client_a.get(f"{URL}{report.pk}/download/")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "report_not_ready"
