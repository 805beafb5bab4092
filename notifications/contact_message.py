"""What an emergency contact reads: written by the app that owns the facts (alerts), carried by notifications.

Notifications only delivers these words. The e-mail template and the SMS channel add none of their own, so
whatever a contact learns (no diagnosis beyond "urgent reading", and how to reach the person) is decided in one
place, by the writer of the message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SUBJECT_MAX = 200
TEXT_MAX = 5000
# Two concatenated SMS segments of GSM-7 text (2 × 160 characters): one message, a bounded cost.
SMS_MAX = 320


@dataclass(frozen=True)
class ContactMessage:
    """One message to every contact of one notification.

    Invariants (ValueError otherwise): every part is non-empty text; `subject` is one line of at most 200
    characters, `text` at most 5000, `sms` at most 320.
    """

    subject: str  # the e-mail subject
    text: str  # the e-mail body (plain text; the HTML part is rendered from it)
    sms: str  # the SMS body

    def __post_init__(self) -> None:
        for name, limit in (("subject", SUBJECT_MAX), ("text", TEXT_MAX), ("sms", SMS_MAX)):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"ContactMessage.{name} must be non-empty text.")
            if len(value) > limit:
                raise ValueError(f"ContactMessage.{name} is longer than {limit} characters.")
        if "\n" in self.subject or "\r" in self.subject:
            raise ValueError("ContactMessage.subject must be one line.")

    def as_stored(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_stored(cls, stored: Any) -> ContactMessage | None:
        """The message kept on a notification, or None when it holds none (or not a valid one)."""
        if not isinstance(stored, dict):
            return None
        try:
            return cls(subject=stored.get("subject"), text=stored.get("text"), sms=stored.get("sms"))
        except ValueError:
            return None
