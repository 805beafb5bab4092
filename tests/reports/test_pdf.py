"""The PDF health summary: one page per section, charts embedded as images, the person's own data only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from reports import services
from reports.models import Report
from tests.appointments.factories import AppointmentFactory
from tests.health_metrics.factories import TargetFactory

from .factories import ReportFactory, add_history, start_regimen

pytestmark = pytest.mark.django_db


def _pdf(media_root, report: Report) -> PdfReader:
    report.refresh_from_db()
    assert report.status == "ready", report.error
    return PdfReader(io.BytesIO((media_root / report.file_name).read_bytes()))


def _image_xobjects(page) -> list:
    resources = page.get("/Resources") or {}
    xobjects = resources.get("/XObject") or {}
    return [name for name, ref in xobjects.items() if ref.get_object().get("/Subtype") == "/Image"]


@pytest.fixture
def full_report(user_a, media_root):
    user_a.first_name, user_a.last_name = "Zoë", "Łukasiewicz"
    user_a.save(update_fields=["first_name", "last_name"])
    add_history(user_a, days=30, per_day=2, metric_types=("blood_pressure", "weight", "steps"), anomaly_days=(12,))
    TargetFactory(
        user=user_a,
        metric_type="blood_pressure",
        target_type="maximum",
        target_value=130,
        start_date=timezone.now().date() - timedelta(days=60),
    )
    start_regimen(user_a, name="Lisinopril", days_ago=10)
    AppointmentFactory(patient=user_a, start_time=timezone.now() + timedelta(days=3))
    today = timezone.now().date()
    report = ReportFactory(user=user_a, start_date=today - timedelta(days=29), end_date=today)
    assert services.report_generate(report_id=report.pk) is services.Outcome.READY
    return _pdf(media_root, report)


class TestHealthSummaryPdf:
    def test_it_has_one_page_per_section(self, full_report):
        # The person and the overview, one page per metric type with readings, medications, appointments.
        assert len(full_report.pages) == 1 + 3 + 1 + 1
        headings = [page.extract_text() for page in full_report.pages]
        assert "Health summary" in headings[0] and "About you" in headings[0]
        assert "Blood pressure" in headings[1]
        assert "Weight" in headings[2]
        assert "Steps" in headings[3]
        assert "Medications" in headings[4] and "Lisinopril" in headings[4]
        assert "Upcoming appointments" in headings[5]

    def test_each_metric_page_holds_its_chart_as_an_image(self, full_report):
        for page in full_report.pages[1:4]:
            assert len(_image_xobjects(page)) == 1
        for page in (full_report.pages[0], *full_report.pages[4:]):
            assert _image_xobjects(page) == []

    def test_it_shows_the_person_statistics_target_and_flagged_readings(self, full_report):
        first = full_report.pages[0].extract_text()
        assert "Zoë Łukasiewicz" in first
        blood_pressure = full_report.pages[1].extract_text()
        assert "Systolic at most 130 mmHg" in blood_pressure
        assert "186/112 mmHg" in blood_pressure
        assert "Statistics" in blood_pressure and "Trend" in blood_pressure

    def test_a_person_without_readings_gets_the_other_sections(self, user_a, media_root):
        report = ReportFactory(user=user_a)
        services.report_generate(report_id=report.pk)
        pdf = _pdf(media_root, report)
        assert len(pdf.pages) == 3
        assert "No readings were recorded in this period." in pdf.pages[0].extract_text()

    def test_it_leaves_out_other_peoples_readings_and_unrequested_types(self, user_a, user_b, media_root):
        add_history(user_a, days=5, metric_types=("heart_rate",))
        add_history(user_b, days=5, metric_types=("weight", "heart_rate"))
        report = ReportFactory(user=user_a, metric_types=["heart_rate", "weight"])
        services.report_generate(report_id=report.pk)
        pdf = _pdf(media_root, report)
        assert len(pdf.pages) == 1 + 1 + 2
        assert "Heart rate" in pdf.pages[1].extract_text()

    def test_a_dense_history_is_charted_as_daily_ranges(self, user_a, media_root):
        add_history(user_a, days=8, per_day=200, metric_types=("heart_rate",))
        report = ReportFactory(user=user_a, start_date=timezone.now().date() - timedelta(days=7))
        services.report_generate(report_id=report.pk)
        pdf = _pdf(media_root, report)
        page = pdf.pages[1].extract_text()
        assert "lowest-to-highest range" in page
        assert len(_image_xobjects(pdf.pages[1])) == 1
