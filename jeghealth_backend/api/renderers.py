"""JSON out through orjson: the list and ingestion paths serialise large bodies."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework import renderers


def json_default(value: Any) -> Any:
    """What orjson cannot encode by itself: Decimals as numbers, lazy strings, sets, and subclasses of
    date and datetime (orjson takes only the exact types; freezegun's clock hands out subclasses)."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, Promise):  # lazy translations in DRF's messages
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=json_default, option=orjson.OPT_NON_STR_KEYS)
