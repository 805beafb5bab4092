"""django-axes reads the login name from the request body: the e-mail, normalised as it is stored."""

from __future__ import annotations


def username_from_request(request, credentials: dict | None) -> str:
    value = ""
    if credentials:
        value = credentials.get("email") or credentials.get("username") or ""
    if not value:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        value = data.get("email", "") if hasattr(data, "get") else ""
    return str(value).strip().lower()
