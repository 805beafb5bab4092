"""Schemathesis over the service's own OpenAPI schema (`/api/schema/`), in process through the WSGI application.

Every operation is fuzzed with schema-valid and schema-violating requests (the examples, coverage and fuzzing
phases; `MAX_EXAMPLES` random examples per operation, derandomized so that CI runs the same requests every time),
sent with the credentials its `security` names: a person's Bearer JWT, a device's `Api-Key`, or none for the public
operations. Operations on one object are called twice per example: with the generated id (almost always unknown,
so the 404 envelope) and with the id of a real object of the caller's (`tests.hardening.conftest.build_world`), so
that the 200 answers and the validation of real updates are checked against the schema too.

Checks: no 5xx (`not_a_server_error`), only documented statuses (`status_code_conformance`), the documented content
type (`content_type_conformance`), bodies (the error envelope included) that match the schema
(`response_schema_conformance`), documented headers, 405 for undocumented methods, 401 without credentials
(`ignored_auth`). Two checks are left out, for these reasons:

- `positive_data_acceptance` expects a 2xx for every schema-valid request. Here many are rightly refused by rules a
  schema cannot state: an unknown (random) id is 404, a password must be strong and the old one right, an end date
  follows its start date, a slot must be free, an e-mail unique. Those answers are documented statuses and are
  checked by the conformance checks.
- `negative_data_rejection` expects a 4xx for every schema-violating request. DRF and django-filter deliberately
  accept some of them: an empty optional query parameter means "no filter", an invalid `offset` means 0, a JSON
  number sent for a text field is taken as its text, `0`/`1` as booleans; and a device batch is accepted (202)
  before its readings are validated one by one, each invalid one reported in the batch's `errors` by index.

No operation is excluded. Every failure found was fixed in the application and is kept as a plain test in
`test_regressions.py`.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from accounts.services import tokens_for_user
from jeghealth_backend.wsgi import application
from tests.accounts.factories import AdminFactory

from .conftest import build_world, wsgi_in_test_transaction

MAX_EXAMPLES = 8

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", application, config=schemathesis.Config.from_dict({"seed": 20261125})
)

# Operations only a doctor or an admin may perform are fuzzed as one (a person's 403 there is API5's subject);
# everything else under Bearer as the person who owns the world's objects.
AS_DOCTOR = {
    "GET /api/v1/appointments/providers/me/",
    "PATCH /api/v1/appointments/providers/me/",
    "POST /api/v1/appointments/{id}/confirm/",
    "POST /api/v1/appointments/{id}/complete/",
    "POST /api/v1/appointments/{id}/no-show/",
    "POST /api/v1/medications/prescriptions/",
}
AS_ADMIN = {"POST /api/v1/auth/users/{user_id}/roles/", "DELETE /api/v1/auth/users/{user_id}/roles/"}

EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]  # reasons in the module docstring

pytestmark = pytest.mark.django_db


def _scheme(operation) -> str | None:
    for requirement in operation.definition.raw.get("security") or []:
        for name in requirement:
            return name
    return None


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens_for_user(user)['access']}"}


@pytest.fixture
def caller(user_a, django_capture_on_commit_callbacks):
    """`caller(operation)` → (headers, world or None): the credentials the operation asks for, and the objects of
    the person calling (built once per operation), so that lists and details answer real rows."""
    state: dict = {}

    def resolve(operation):
        if "headers" not in state:
            label = f"{operation.method.upper()} {operation.path}"
            scheme = _scheme(operation)
            # The public operations other than the calendar feed address nothing of anyone's.
            world = None
            if scheme is not None or "{" in operation.path:
                world = build_world(user_a, django_capture_on_commit_callbacks)
            state["world"] = world
            if scheme == "ApiKeyAuth":
                state["headers"] = {"Authorization": f"Api-Key {world.watch.api_key}"}
            elif scheme is None:
                state["headers"] = {}
            elif label in AS_ADMIN:
                state["headers"] = _bearer(AdminFactory())
            elif label in AS_DOCTOR:
                state["headers"] = _bearer(world.doctor)
            else:
                state["headers"] = _bearer(user_a)
        return state["headers"], state["world"]

    return resolve


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,  # no example database: every run replays the same derandomized examples
    print_blob=False,
    # One world per operation (function-scoped fixtures on purpose); large generated bodies are the point.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
def test_operation_conforms_to_its_schema(case, caller):
    headers, world = caller(case.operation)
    with wsgi_in_test_transaction():
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
        if world is not None and case.operation.path in world.ids:
            on_real_object = case.derive()
            on_real_object.path_parameters = dict(world.ids[case.operation.path])
            on_real_object.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)


def test_the_role_tables_name_operations_of_the_schema():
    operations = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}

    assert (AS_DOCTOR | AS_ADMIN) - operations == set()
