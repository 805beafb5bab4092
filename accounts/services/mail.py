"""Mail to an account holder from a template, sent by a Celery task after commit (accounts.mail)."""

from __future__ import annotations

from typing import Any

from ..mail import account_mail_send
from ..models import User


def templated_mail_send(*, user: User, template: str, context: dict[str, Any]) -> None:
    account_mail_send(
        to=user.email, template=template, context={**context, "user": user}, ref={"user_id": str(user.pk)}
    )
