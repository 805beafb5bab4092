"""Charts of a metric over the report's period, drawn headless with matplotlib's Agg canvas into PNG bytes.

Each chart shows the readings (every reading up to content.RAW_POINTS_LIMIT, else each day's average with its
lowest-to-highest range; per-day metrics as daily totals), the person's target as a shaded band or a line, and
flagged readings as red crosses. No pyplot: a `Figure` per chart keeps no global state between reports.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from health_metrics.models import HealthMetricTarget, Period, TargetType

from ..content import MetricSection
from ..statistics import daily_value

WIDTH_IN, HEIGHT_IN, DPI = 7.2, 3.1, 150
SERIES_COLORS = {"value": "#1f5fa8", "systolic": "#c0392b", "diastolic": "#1f5fa8"}
SERIES_LABELS = {"value": None, "systolic": "systolic", "diastolic": "diastolic"}
TARGET_COLOR = "#2e8b57"
ANOMALY_COLOR = "#d62728"
BAR_COLOR = "#5b8fd0"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12))


def _naive(moment: datetime) -> datetime:
    """Local wall-clock time: the axis reads in the person's timezone."""
    return moment.replace(tzinfo=None)


def metric_chart(section: MetricSection) -> bytes:
    """The PNG of SECTION's chart."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    spec = section.spec
    series = ("systolic", "diastolic") if spec.is_blood_pressure else ("value",)
    plotted: list[float] = []

    if section.per_day:
        plotted.append(0.0)  # bars stand on zero
        days = sorted(section.days)
        totals = [daily_value(spec, section.days[d], "value") or 0.0 for d in days]
        colors = [ANOMALY_COLOR if section.days[d].anomalies else BAR_COLOR for d in days]
        axes.bar([_noon(d) for d in days], totals, width=0.8, color=colors, label="daily total")
        plotted += totals
    elif section.points:
        for side in series:
            xs = [_naive(at) for at, values in section.points if values[side] is not None]
            ys = [values[side] for _, values in section.points if values[side] is not None]
            axes.plot(
                xs,
                ys,
                color=SERIES_COLORS[side],
                linewidth=1.0,
                marker="o",
                markersize=2.2 if len(xs) > 200 else 3.5,
                label=SERIES_LABELS[side],
            )
            plotted += ys
    else:
        days = sorted(section.days)
        xs = [_noon(d) for d in days]
        for side in series:
            averages = [daily_value(spec, section.days[d], side) for d in days]
            lows = [section.days[d].side(side)[1] for d in days]
            highs = [section.days[d].side(side)[2] for d in days]
            color = SERIES_COLORS[side]
            axes.fill_between(xs, lows, highs, color=color, alpha=0.15, linewidth=0)
            label = f"{SERIES_LABELS[side] or 'daily'} average" if SERIES_LABELS[side] else "daily average"
            axes.plot(xs, averages, color=color, linewidth=1.2, label=label)
            plotted += [v for v in lows + highs if v is not None]

    if section.anomalies and not section.per_day:
        field = "systolic_value" if spec.is_blood_pressure else "value"
        xs = [_naive(row["recorded_at"]) for row in section.anomalies]
        ys = [row[field] for row in section.anomalies]
        axes.scatter(xs, ys, marker="x", s=42, linewidths=1.6, color=ANOMALY_COLOR, zorder=5, label="flagged")
        plotted += ys

    target = _chart_target(section)
    if target is not None:
        _draw_target(axes, target, plotted, label_prefix="systolic " if spec.is_blood_pressure else "")

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_ylabel(spec.unit)
    axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    _handles, labels = axes.get_legend_handles_labels()
    if any(labels):
        axes.legend(loc="upper left", fontsize=7, frameon=False, ncol=4)
    # Fixed margins: tight_layout would draw the figure once more just to measure it.
    figure.subplots_adjust(left=0.09, right=0.985, top=0.93, bottom=0.12)
    buffer = io.BytesIO()
    # Opaque RGB: an alpha channel would make the PDF carry a second (mask) image per chart.
    figure.savefig(buffer, format="png", facecolor="white", pil_kwargs={"optimize": False})
    return buffer.getvalue()


def _chart_target(section: MetricSection) -> HealthMetricTarget | None:
    """The target a chart shows: the newest one that compares with what is drawn (daily totals need a daily one)."""
    for target in section.targets:
        if section.per_day and target.period != Period.DAILY:
            continue
        return target
    return None


def _draw_target(axes, target: HealthMetricTarget, plotted: list[float], *, label_prefix: str) -> None:
    bounds = [v for v in (target.target_value, target.min_value, target.max_value) if v is not None]
    values = plotted + bounds
    low, high = min(values), max(values)
    margin = (high - low) * 0.12 or abs(high) * 0.1 or 1.0
    bottom, top = low - margin, high + margin
    if min(plotted or [0.0]) >= 0 and bottom < 0:
        bottom = 0
    axes.set_ylim(bottom, top)
    style = {"color": TARGET_COLOR, "alpha": 0.13, "linewidth": 0}
    if target.target_type == TargetType.RANGE:
        axes.axhspan(target.min_value, target.max_value, label=f"{label_prefix}target range", **style)
    elif target.target_type == TargetType.MINIMUM:
        axes.axhspan(target.target_value, top, **style)
        axes.axhline(
            target.target_value,
            color=TARGET_COLOR,
            linestyle="--",
            linewidth=1.1,
            label=f"{label_prefix}target ≥ {target.target_value:g}",
        )
    else:
        axes.axhspan(bottom, target.target_value, **style)
        axes.axhline(
            target.target_value,
            color=TARGET_COLOR,
            linestyle="--",
            linewidth=1.1,
            label=f"{label_prefix}target ≤ {target.target_value:g}",
        )
