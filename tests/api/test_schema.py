"""The OpenAPI document: served, valid, with both security schemes and the error envelope, and complete."""

import re

import pytest
import yaml
from django.contrib.admindocs.views import simplify_regex
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Routes under /api/v1/ that are deliberately not operations (none yet); each needs a reason.
NOT_IN_SCHEMA: dict[str, str] = {}


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    """Generated once through the management command, validated and failing on any warning, as CI does."""
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def api_v1_routes(resolver=None, prefix: str = "") -> set[str]:
    """Every URL under /api/v1/ as an OpenAPI path template (`{param}`), format-suffix variants left out."""
    resolver = resolver or get_resolver()
    routes = set()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes |= api_v1_routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"\\(.)", r"\1", simplify_regex(pattern))  # `\.ics` in a re_path is `.ics`
            if path.startswith("/api/v1/") and "<format>" not in path:
                # drf-spectacular names a router's `pk` after the model's key (SCHEMA_COERCE_PATH_PK): `id` here.
                routes.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path).replace("{pk}", "{id}"))
    return routes


class TestServed:
    @pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
    def test_answers_200(self, anon, path):
        assert anon.get(path).status_code == 200

    def test_the_schema_is_available_as_json(self, anon):
        r = anon.get("/api/schema/", {"format": "json"})

        assert r.status_code == 200
        assert r.json()["openapi"].startswith("3.")


class TestContent:
    def test_declares_the_bearer_and_device_key_schemes(self, schema):
        schemes = schema["components"]["securitySchemes"]

        assert schemes["jwtAuth"]["scheme"] == "bearer"
        assert schemes["ApiKeyAuth"]["type"] == "apiKey"

    def test_documents_the_error_envelope(self, schema):
        envelope = schema["components"]["schemas"]["ErrorEnvelope"]
        detail = schema["components"]["schemas"]["ErrorDetail"]

        assert envelope["properties"]["error"]["$ref"].endswith("/ErrorDetail")
        assert {"code", "message", "fields"} <= set(detail["properties"])

    def test_an_authenticated_operation_documents_its_errors(self, schema):
        responses = schema["paths"]["/api/v1/auth/current-user/"]["patch"]["responses"]

        for status in ("400", "401", "403", "404", "429"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")

    def test_login_answers_the_user_and_a_token_pair_or_a_second_step(self, schema):
        ok = schema["paths"]["/api/v1/auth/login/"]["post"]["responses"]["200"]

        assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/LoginResult")
        shapes = schema["components"]["schemas"]["LoginResult"]["oneOf"]
        assert {shape["$ref"].rsplit("/", 1)[1] for shape in shapes} == {
            "AuthResult",
            "MfaChallenge",
            "MfaEnrolmentRequired",
        }

    @pytest.mark.parametrize("path", ["/api/v1/auth/login/", "/api/v1/auth/token/refresh/"])
    def test_public_operations_that_check_credentials_document_401(self, schema, path):
        responses = schema["paths"][path]["post"]["responses"]

        assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")

    def test_public_operations_need_no_security(self, schema):
        login = schema["paths"]["/api/v1/auth/login/"]["post"]

        assert login.get("security") in (None, [], [{}])

    def test_every_api_v1_route_is_documented(self, schema):
        missing = api_v1_routes() - set(schema["paths"]) - set(NOT_IN_SCHEMA)

        assert not missing, f"routes missing from the OpenAPI schema: {sorted(missing)}"

    def test_the_inventory_sees_the_accounts_routes(self):
        routes = api_v1_routes()

        assert {"/api/v1/auth/login/", "/api/v1/auth/users/{user_id}/roles/", "/api/v1/health/"} <= routes
