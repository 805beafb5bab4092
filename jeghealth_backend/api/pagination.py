"""Pagination of every list: `limit`/`offset` (API.md), with a `count` that stays cheap however long the list.

An exact `count(*)` reads every matching row: for a person with years of minute-by-minute readings that is
hundreds of thousands of index entries per page. So the count is exact up to EXACT_COUNT_LIMIT (counted over a
subquery limited to one more row, which stops there) and above it is PostgreSQL's planner estimate for the list's
query (EXPLAIN, no rows read), never below EXACT_COUNT_LIMIT + 1; the answer says which with `count_is_estimate`.
SQLite has no estimate and counts exactly.
"""

from __future__ import annotations

import json

from django.db import connections
from rest_framework import pagination

EXACT_COUNT_LIMIT = 10_000


def bounded_count(queryset) -> tuple[int, bool]:
    """(count, is_estimate) of QUERYSET as described above."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count(), False
    exact = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
    if exact <= EXACT_COUNT_LIMIT:
        return exact, False
    plan = json.loads(queryset.order_by().explain(format="json"))
    return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_COUNT_LIMIT + 1), True


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`limit`/`offset`, 20 by default and never more than 200 a page (API.md)."""

    default_limit = 20
    max_limit = 200
    count_is_estimate = False

    def get_count(self, queryset):
        if not hasattr(queryset, "explain"):  # a list, not a queryset
            return len(queryset)
        count, self.count_is_estimate = bounded_count(queryset)
        return count

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_estimate"] = self.count_is_estimate
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["description"] = (
            f"Exact up to {EXACT_COUNT_LIMIT:,}; above it PostgreSQL's estimate (see count_is_estimate)."
        )
        answer["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": f"True when the list holds more than {EXACT_COUNT_LIMIT:,} items and count is estimated.",
        }
        answer["required"] = [*answer.get("required", []), "count_is_estimate"]
        return answer
