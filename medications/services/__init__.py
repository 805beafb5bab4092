"""Writes of medications. Every public function owns its transaction.

- regimens.py: starting (`regimen_create`, `prescription_create`), changing and ending regimens.
- dose_logs.py: `dose_log`, quantities and the refill reminder, and `doses_mark_missed` (periodic).
- reminders.py: `dose_reminders_send` (periodic).

What a person is told is worded in medications/notices.py and goes through `notifications.services.notify` inside
the caller's transaction (it sends after commit), so a reminder is stored if and only if what triggered it is; its
`dedupe_key` keeps a repeat from being stored twice. Missed doses are handed to the alert rules (alerts).
"""

from .dose_logs import dose_log, doses_mark_missed
from .regimens import RegimenResult, prescription_create, regimen_create, regimen_end, regimen_update
from .reminders import dose_reminders_send

__all__ = [
    "RegimenResult",
    "dose_log",
    "dose_reminders_send",
    "doses_mark_missed",
    "prescription_create",
    "regimen_create",
    "regimen_end",
    "regimen_update",
]
