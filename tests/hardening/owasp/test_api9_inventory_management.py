"""OWASP API9 Improper Inventory Management (2023); what the modules share: the package docstring."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.hardening.owasp.common import OPENAPI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


# /api/ routes that are deliberately not operations of the schema.
UNDOCUMENTED = {
    "/api/schema/": "the OpenAPI document itself",
    "/api/docs/": "Swagger UI over that document",
    "/api/redoc/": "ReDoc over that document",
}


def api_routes(resolver=None, prefix: str = "/") -> set[str]:
    """Every URL under /api/ the resolver serves, as an OpenAPI path template."""
    import re

    from django.contrib.admindocs.views import simplify_regex

    resolver = resolver or get_resolver()
    found: set[str] = set()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found |= api_routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"\\(.)", r"\1", simplify_regex(pattern))
            if path.startswith("/api/") and "<format>" not in path:
                found.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path).replace("{pk}", "{id}"))
    return found


class TestAPI9ImproperInventoryManagement:
    def test_every_served_api_route_is_in_the_schema(self):
        assert api_routes() - set(OPENAPI["paths"]) - set(UNDOCUMENTED) == set()

    def test_every_schema_path_is_served(self):
        assert set(OPENAPI["paths"]) - api_routes() == set()

    def test_only_one_api_version_is_served(self):
        versions = {path.split("/")[2] for path in api_routes() if path.count("/") > 3}

        assert versions == {"v1"}
