"""OWASP API7 Server Side Request Forgery (2023); what the modules share: the package docstring."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.hardening.owasp.common import OPENAPI
from tests.hardening.routes import (
    fill_strings,
    json_request_schema,
    operations,
    request_fields_with_format,
    scheme,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


# Request fields declared `format: uri` that a reviewer judged safe (none: nothing here fetches a URL it is given).
REVIEWED_URI_FIELDS: dict[str, str] = {}
PROBES = ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:6379/", "file:///etc/passwd"]


class TestAPI7ServerSideRequestForgery:
    def test_no_request_field_takes_a_uri_outside_the_reviewed_list(self):
        assert set(request_fields_with_format(OPENAPI, "uri")) - set(REVIEWED_URI_FIELDS) == set()

    @pytest.mark.parametrize("probe", PROBES)
    def test_urls_in_every_string_field_open_no_connection(
        self, probe, world_a, api, outbound_guard, django_capture_on_commit_callbacks
    ):
        person = api(world_a.owner)

        for path, method, operation in operations(OPENAPI):
            client = {"jwtAuth": person, "ApiKeyAuth": world_a.watch.client(), None: APIClient()}[scheme(operation)]
            url = path.format(**world_a.ids.get(path, {}))
            query = {p["name"]: probe for p in operation.get("parameters", []) if p["in"] == "query"}
            schema = json_request_schema(OPENAPI, operation)
            body = fill_strings(OPENAPI, schema, probe) if schema else None
            with django_capture_on_commit_callbacks(execute=True):
                if body is None:
                    r = client.generic(method, url, QUERY_STRING="&".join(f"{k}={v}" for k, v in query.items()))
                else:
                    r = client.generic(method, url, json.dumps(body), content_type="application/json")

            assert r.status_code < 500, f"{method} {path}: {r.content[:200]}"
        assert outbound_guard.attempts == []
