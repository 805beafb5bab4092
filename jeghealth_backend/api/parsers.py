"""JSON in through orjson, refusing what the database would choke on.

orjson already refuses NaN, Infinity and integers beyond 64 bits. On top of that this parser refuses NUL
characters anywhere in the document (PostgreSQL cannot store them in text or jsonb), non-finite floats that come
from huge exponents, and integers outside the signed 64-bit range (orjson takes unsigned ones up to 2**64 - 1), so
that such input is a 400 and never a 500 deeper down.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

MAX_DEPTH = 32
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise ParseError("The request body is empty; send a JSON document.")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None
        _check(data, 0)
        return data


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ParseError("The JSON document is nested too deeply.")
    if isinstance(value, str):
        if "\x00" in value:
            raise ParseError("Text may not contain NUL characters.")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError("Numbers must be finite.")
    elif isinstance(value, int) and not isinstance(value, bool):
        # orjson takes unsigned 64-bit integers too; no column here holds one, and on SQLite it would be a 500.
        if not INT_MIN <= value <= INT_MAX:
            raise ParseError("Integers must fit in 64 bits.")
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise ParseError("Keys may not contain NUL characters.")
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
