"""The PDF health summary: one page per section, laid out with reportlab.

Sections, each on its own page (shrunk to fit when long): the person and an overview of the period; one page per
metric type with readings (chart with target band and flagged readings, statistics, trend, target, flagged
readings); medications (adherence over the period, current regimens); upcoming appointments. The look (fonts,
styles, tables) is pdf_layout.py's.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import Image, KeepInFrame, PageBreak, SimpleDocTemplate, Spacer

from health_metrics.models import HealthMetricTarget, TargetType

from ..content import ANOMALY_ROWS, HealthSummary, MetricSection, gather
from ..models import Report
from .base import ReportFormat
from .charts import HEIGHT_IN, WIDTH_IN, metric_chart
from .pdf_layout import FONT, FRAME_PADDING, MUTED, number, para, signed, table

SIDE_NAMES = {"value": "", "systolic": "Systolic", "diastolic": "Diastolic"}


def _local(moment: datetime | None, summary: HealthSummary) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(summary.tz).strftime("%a %d %b %Y, %H:%M")


def _day(day: date | None) -> str:
    return day.strftime("%d %b %Y") if day else "—"


def target_text(target: HealthMetricTarget, unit: str, *, systolic: bool = False) -> str:
    if target.target_type == TargetType.RANGE:
        goal = f"between {number(target.min_value)} and {number(target.max_value, unit)}"
    elif target.target_type == TargetType.MINIMUM:
        goal = f"at least {number(target.target_value, unit)}"
    else:
        goal = f"at most {number(target.target_value, unit)}"
    until = f" until {_day(target.end_date)}" if target.end_date else ""
    subject = "Systolic " if systolic else ""
    text = f"{subject}{goal}, {target.get_period_display().lower()} (from {_day(target.start_date)}{until})"
    return text[0].upper() + text[1:]


class PdfFormat(ReportFormat):
    name = "pdf"
    extension = "pdf"
    content_type = "application/pdf"

    def render(self, *, report: Report, out: IO[bytes], now: datetime) -> None:
        summary = gather(report=report, now=now)
        person = summary.user.full_name
        doc = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=1.8 * cm,
            rightMargin=1.8 * cm,
            topMargin=1.6 * cm,
            bottomMargin=1.8 * cm,
            title=f"Health summary, {report.start_date} to {report.end_date}",
            author="JEGHealth",
            subject=f"Health summary of {person}",
            creator="JEGHealth reports",
        )
        width = doc.width - 2 * FRAME_PADDING
        height = doc.height - 2 * FRAME_PADDING
        sections = [
            self._overview(summary, width),
            *(self._metric(summary, section, width) for section in summary.metrics),
            self._medications(summary, width),
            self._appointments(summary, width),
        ]
        story: list[Any] = []
        for index, flowables in enumerate(sections):
            if index:
                story.append(PageBreak())
            story.append(KeepInFrame(width, height, flowables, mode="shrink"))

        footer = f"JEGHealth · Health summary of {person} · {_day(report.start_date)} – {_day(report.end_date)}"

        def decorate(canvas, document) -> None:
            canvas.saveState()
            canvas.setFont(FONT, 7.5)
            canvas.setFillColor(MUTED)
            canvas.drawString(document.leftMargin, 1.0 * cm, footer)
            canvas.drawRightString(A4[0] - document.rightMargin, 1.0 * cm, f"Page {document.page}")
            canvas.restoreState()

        doc.build(story, onFirstPage=decorate, onLaterPages=decorate)

    # --- sections ---------------------------------------------------------------------------------------------

    def _overview(self, summary: HealthSummary, width: float) -> list[Any]:
        report, user = summary.report, summary.user
        profile = user.profile
        age = ""
        if user.date_of_birth:
            today = summary.generated_at.astimezone(summary.tz).date()
            years = today.year - user.date_of_birth.year
            years -= (today.month, today.day) < (user.date_of_birth.month, user.date_of_birth.day)
            age = f" (age {years})"
        about = [
            ["Name", user.full_name],
            ["E-mail", user.email],
            ["Date of birth", f"{_day(user.date_of_birth)}{age}" if user.date_of_birth else "—"],
            ["Sex", profile.get_gender_display() if profile.gender else "—"],
            ["Height", f"{profile.height_cm} cm" if profile.height_cm else "—"],
            ["Blood type", profile.blood_type or "—"],
            ["Medical conditions", profile.medical_conditions or "—"],
            ["Allergies", profile.allergies or "—"],
            ["Time zone", profile.timezone or "UTC"],
        ]
        flowables: list[Any] = [
            para("Health summary", "title"),
            para(
                f"{escape(user.full_name)} · {_day(report.start_date)} to {_day(report.end_date)} "
                f"({summary.period_days} days)",
                "muted",
            ),
            Spacer(1, 8),
            para("About you", "h2"),
            table(about, [4.2 * cm, width - 4.2 * cm], header=False),
            para("The period at a glance", "h2"),
        ]
        if summary.metrics:
            rows: list[list[Any]] = [["Measure", "Readings", "Average", "Lowest", "Highest", "Change*", "Flagged"]]
            for section in summary.metrics:
                rows.append(self._overview_row(section))
            flowables.append(
                table(rows, [3.9 * cm, 2.1 * cm, 2.4 * cm, 2.2 * cm, 2.2 * cm, 2.2 * cm, width - 15.0 * cm])
            )
            flowables.append(
                para(
                    f"* Change of the average against the {summary.period_days} days before the period. Averages of "
                    "steps, calories and sleep are per day. Readings marked suspect are left out.",
                    "muted",
                )
            )
        else:
            flowables.append(para("No readings were recorded in this period."))
        flowables += [
            Spacer(1, 10),
            para(
                f"Generated {_local(summary.generated_at, summary)} ({escape(profile.timezone or 'UTC')}). "
                "This summary restates the data you recorded; it is not a diagnosis.",
                "muted",
            ),
        ]
        return flowables

    def _overview_row(self, section: MetricSection) -> list[Any]:
        spec = section.spec
        if spec.is_blood_pressure:
            s, d = section.stats["systolic"], section.stats["diastolic"]
            pair = lambda key: f"{number(s[key])}/{number(d[key])}"  # noqa: E731
            change = section.trends["systolic"]["change"]
            return [
                f"{spec.label} ({spec.unit})",
                str(s["count"]),
                pair("average"),
                pair("min"),
                pair("max"),
                f"{signed(change)} syst." if change is not None else "—",
                str(s["anomalies"]),
            ]
        stats = section.stats["value"]
        return [
            f"{spec.label} ({spec.unit})" + (" per day" if section.per_day else ""),
            str(stats["count"]),
            number(stats["average"]),
            number(stats["min"]),
            number(stats["max"]),
            signed(section.trends["value"]["change"]),
            str(stats["anomalies"]),
        ]

    def _metric(self, summary: HealthSummary, section: MetricSection, width: float) -> list[Any]:
        spec = section.spec
        first_side = next(iter(section.stats.values()))
        chart = Image(io.BytesIO(metric_chart(section)), width=width, height=width * HEIGHT_IN / WIDTH_IN)
        flowables: list[Any] = [
            para(escape(spec.label), "h1"),
            para(
                f"{first_side['count']} readings on {first_side['days_with_data']} of {summary.period_days} days · "
                f"unit {escape(spec.unit)} · LOINC {spec.loinc}",
                "muted",
            ),
            Spacer(1, 4),
            chart,
        ]
        if not section.points and not section.per_day:
            flowables.append(para("Each day's average, with its lowest-to-highest range shaded.", "muted"))
        flowables.append(para("Statistics", "h2"))
        label = "Daily total" if section.per_day else "Readings"
        rows: list[list[Any]] = [["Series", "Readings", "Days", "Average", "Lowest", "Highest"]]
        for side, stats in section.stats.items():
            rows.append(
                [
                    SIDE_NAMES[side] or label,
                    str(stats["count"]),
                    str(stats["days_with_data"]),
                    number(stats["average"], spec.unit),
                    number(stats["min"], spec.unit),
                    number(stats["max"], spec.unit),
                ]
            )
        flowables.append(table(rows, [3.4 * cm, 2.0 * cm, 1.6 * cm] + [(width - 7.0 * cm) / 3] * 3))
        flowables.append(para("Trend", "h2"))
        for side, result in section.trends.items():
            flowables.append(para(self._trend_sentence(SIDE_NAMES[side], result, spec.unit, section.per_day)))
        if section.targets:
            flowables.append(para("Target", "h2"))
            for target in section.targets[:3]:
                flowables.append(para(escape(target_text(target, spec.unit, systolic=spec.is_blood_pressure))))
        flowables.append(para("Flagged readings", "h2"))
        if section.anomalies:
            rows = [["When", "Value", "Reason"]]
            for row in section.anomalies[:ANOMALY_ROWS]:
                if spec.is_blood_pressure:
                    value = f"{number(row['systolic_value'])}/{number(row['diastolic_value'])} {spec.unit}"
                else:
                    value = number(row["value"], spec.unit)
                rows.append([_local(row["recorded_at"], summary), value, row["anomaly_reason"] or "—"])
            flowables.append(table(rows, [4.6 * cm, 3.0 * cm, width - 7.6 * cm]))
            more = len(section.anomalies) - ANOMALY_ROWS
            if more > 0:
                flowables.append(para(f"… and {more} more flagged readings in this period.", "muted"))
        else:
            flowables.append(para("None in this period."))
        return flowables

    @staticmethod
    def _trend_sentence(name: str, result: dict[str, Any], unit: str, per_day: bool) -> str:
        subject = f"{name} average" if name else ("Average day" if per_day else "Average")
        text = f"{subject}: {number(result['average'], unit)}"
        if result["previous_average"] is None:
            text += f"; no readings in the {result['days']} days before to compare with."
        else:
            percent = f", {signed(result['change_percent'])} %" if result["change_percent"] is not None else ""
            text += (
                f", against {number(result['previous_average'], unit)} in the {result['days']} days before "
                f"({signed(result['change'], unit)}{percent})."
            )
        if result["slope_per_day"] is not None:
            text += f" Direction over the period: {signed(result['slope_per_day'], unit)} per day."
        return escape(text)

    def _medications(self, summary: HealthSummary, width: float) -> list[Any]:
        flowables: list[Any] = [para("Medications", "h1"), para("Adherence over the period", "h2")]
        adherence = summary.adherence or {"overall": {"scheduled": 0, "taken": 0, "percent": None}, "regimens": []}
        overall = adherence["overall"]
        if overall["scheduled"]:
            flowables.append(
                para(
                    f"{overall['taken']} of {overall['scheduled']} scheduled doses were taken "
                    f"({number(overall['percent'])} %). Doses not yet due are not counted."
                )
            )
            rows: list[list[Any]] = [["Medication", "Scheduled", "Taken", "Adherence"]]
            for item in adherence["regimens"][:15]:
                rows.append(
                    [
                        item["medication_name"],
                        str(item["scheduled"]),
                        str(item["taken"]),
                        f"{number(item['percent'])} %",
                    ]
                )
            flowables.append(table(rows, [width - 7.5 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm]))
        else:
            flowables.append(para("No scheduled doses fell in this period."))
        flowables.append(para("Current medications", "h2"))
        if summary.regimens:
            rows = [["Medication", "Dose", "How often", "Times", "Since"]]
            for regimen in summary.regimens:
                rows.append(
                    [
                        regimen["name"],
                        f"{regimen['dosage']:g} {regimen['dosage_unit']}",
                        regimen["frequency_label"],
                        ", ".join(regimen["schedule_times"]) or "—",
                        _day(regimen["start_date"]),
                    ]
                )
            flowables.append(table(rows, [width - 12.2 * cm, 2.4 * cm, 3.4 * cm, 3.6 * cm, 2.8 * cm]))
        else:
            flowables.append(para("No current medications."))
        return flowables

    def _appointments(self, summary: HealthSummary, width: float) -> list[Any]:
        flowables: list[Any] = [para("Upcoming appointments", "h1")]
        if not summary.appointments:
            flowables.append(para("No upcoming appointments."))
            return flowables
        rows: list[list[Any]] = [["When", "With", "Type", "Status"]]
        for item in summary.appointments:
            provider = item["provider"]
            who = provider["name"] + (f", {provider['specialty']}" if provider["specialty"] else "")
            if provider["clinic_name"]:
                who += f" ({provider['clinic_name']})"
            rows.append(
                [
                    _local(item["start_time"], summary),
                    who,
                    item["appointment_type"].replace("_", " "),
                    item["status"],
                ]
            )
        flowables.append(table(rows, [4.8 * cm, width - 10.2 * cm, 2.9 * cm, 2.5 * cm]))
        flowables.append(para(f"Times in {escape(summary.user.profile.timezone or 'UTC')}.", "muted"))
        return flowables
