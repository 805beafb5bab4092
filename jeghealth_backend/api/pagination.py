from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`limit`/`offset`, 20 by default and never more than 200 a page (API.md)."""

    default_limit = 20
    max_limit = 200
