"""What alerts say: titles and bodies of the notifications the rules raise, and the message contacts receive.

Titles and bodies travel by push (a lock screen) and e-mail, so they name the kind of reading, the direction and
the time, never a value; values are in `data`, which only the authenticated API shows. What caregivers and
emergency contacts receive names no diagnosis beyond "urgent reading", and says how to reach the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from jeghealth_backend.metric_catalog import CATALOG
from notifications.services import ContactMessage

from .choices import Rule, Severity

APP_NAME = "JEGHealth"


@dataclass(frozen=True)
class Notice:
    title: str
    body: str


def metric_label(metric_type: str) -> str:
    spec = CATALOG.get(metric_type)
    return spec.label if spec is not None else metric_type.replace("_", " ").capitalize()


def local_time(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%H:%M} on {local:%d %b %Y}"


def reading_notice(*, rule: str, severity: str, metric_type: str, detail: dict[str, Any], at: str) -> Notice:
    """The notice of a reading that opened an episode of RULE, or raised its severity to SEVERITY."""
    label = metric_label(metric_type)
    lower = label.lower()
    if rule == Rule.PERSONAL_THRESHOLD:
        direction = detail["direction"]
        part = {"systolic_value": "systolic ", "diastolic_value": "diastolic "}.get(detail["field"], "")
        return Notice(
            f"{label} {direction} your {severity} limit",
            f"A {part}{lower} reading recorded at {at} is {direction} the {severity} limit you set. "
            f"Open {APP_NAME} for details.",
        )
    if rule == Rule.BASELINE_ANOMALY:
        return Notice(
            f"Unusual {lower} reading",
            f"A {lower} reading recorded at {at} is unusual for you. Open {APP_NAME} for details.",
        )
    if severity == Severity.CRITICAL:
        return Notice(
            f"Urgent {lower} reading",
            f"A {lower} reading recorded at {at} is in the critical range. If you feel unwell, call your doctor "
            f"or the emergency services. Open {APP_NAME} to acknowledge it.",
        )
    return Notice(
        f"{label} outside the recommended range",
        f"A {lower} reading recorded at {at} is outside the recommended range. Open {APP_NAME} for details.",
    )


def reminder_notice(*, metric_type: str, at: str, number: int) -> Notice:
    lower = metric_label(metric_type).lower() if metric_type else "urgent"
    return Notice(
        f"Reminder: urgent {lower} reading" if metric_type else "Reminder: urgent alert",
        f"The urgent alert of {at} is not acknowledged yet (reminder {number}). Open {APP_NAME} to acknowledge "
        "it; if you do not, your caregivers and emergency contacts will be told.",
    )


def caregiver_notice(*, patient_name: str, at: str) -> Notice:
    return Notice(
        f"{patient_name}: urgent reading",
        f"{patient_name} had an urgent reading at {at} and has not acknowledged it. Open {APP_NAME} to see it, "
        f"and check on {patient_name}.",
    )


def escalated_notice(*, at: str, told_caregivers: int, told_contacts: int) -> Notice:
    who = " and ".join(
        part
        for part in (
            f"{told_caregivers} caregiver{'s' if told_caregivers != 1 else ''}" if told_caregivers else "",
            f"{told_contacts} emergency contact{'s' if told_contacts != 1 else ''}" if told_contacts else "",
        )
        if part
    )
    return Notice(
        "We told your care circle",
        f"The urgent alert of {at} was not acknowledged, so we told {who}. Open {APP_NAME} to acknowledge it.",
    )


def contact_message(*, patient_name: str, patient_phone: str, at: str) -> ContactMessage:
    reach = f" Their phone number: {patient_phone}." if patient_phone else ""
    return ContactMessage(
        subject=f"Urgent: please check on {patient_name}",
        text=(
            f"{APP_NAME} recorded an urgent reading for {patient_name} at {at}, and {patient_name} has not "
            f"responded to the alert. Please check on them.{reach}\n\n"
            f"You receive this because {patient_name} named you as an emergency contact in {APP_NAME}."
        ),
        sms=f"{APP_NAME}: urgent reading for {patient_name}, not acknowledged. Please check on them.{reach}"[:320],
    )


def device_notice(*, rule: str, device_name: str, at: str, battery_level: int | None) -> Notice:
    if rule == Rule.DEVICE_OFFLINE:
        return Notice(
            f"{device_name} stopped sending",
            f"We have not heard from {device_name} since {at}. Check that it is on, charged and in range.",
        )
    level = f" ({battery_level} %)" if battery_level is not None else ""
    return Notice(
        f"{device_name}: battery low",
        f"The battery of {device_name} is low{level}. Charge it so that its readings keep coming.",
    )


def missed_dose_notice(*, at: str) -> Notice:
    # No medication name: pushes show on a lock screen. The app names it from `data.regimen`.
    return Notice("Missed dose", f"The dose due at {at} was not logged. Open {APP_NAME} to log it.")


def digest_notice(*, flagged: int, max_age_hours: float) -> Notice:
    readings = "reading" if flagged == 1 else "readings"
    return Notice(
        f"{flagged} earlier {readings} flagged",
        f"An upload of readings recorded more than {max_age_hours:g} hours ago had {flagged} {readings} outside "
        f"your limits or the usual range. Open {APP_NAME} to review them.",
    )
