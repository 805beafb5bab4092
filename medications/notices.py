"""What a person is told about their medications, through `notifications.services.notify`.

Category `medication_reminder`, so the person's preferences for it apply. No medication name ever appears in a title
or body: pushes show on a lock screen; the app names the medication from `data.regimen`. Each notice has a
`dedupe_key`, so sending the same notice twice stores one. (A dose left unlogged is an alert rule: alerts words it.)
"""

from __future__ import annotations

from datetime import datetime

from notifications.choices import Category
from notifications.services import notify

from .models import Regimen

APP_NAME = "JEGHealth"


def dose_due_notify(*, regimen: Regimen, instant: datetime, local: datetime) -> None:
    """The dose of REGIMEN due at INSTANT (LOCAL on the person's clock) is due now; once per dose."""
    notify(
        user=regimen.user,
        category=Category.MEDICATION_REMINDER,
        title="Time for your medication",
        body=f"Your {local:%H:%M} dose is due. Open {APP_NAME} to log it.",
        data={"type": "dose", "regimen": str(regimen.pk), "scheduled_for": local.isoformat()},
        dedupe_key=f"medication_dose:{regimen.pk}:{instant.isoformat()}",
    )


def refill_notify(*, regimen: Regimen, now: datetime) -> None:
    """REGIMEN's quantity fell to its refill threshold (once per crossing: the caller claimed it at NOW)."""
    notify(
        user=regimen.user,
        category=Category.MEDICATION_REMINDER,
        title="Time to order a refill",
        body=f"One of your medications is running low. Open {APP_NAME} to see which.",
        data={"type": "refill", "regimen": str(regimen.pk)},
        dedupe_key=f"medication_refill:{regimen.pk}:{now.isoformat()}",
    )
