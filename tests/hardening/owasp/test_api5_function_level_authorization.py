"""OWASP API5 Broken Function Level Authorization (2023); what the modules share: the package docstring."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.accounts.factories import AdminFactory, DoctorFactory
from tests.hardening.owasp.common import ME, OPENAPI, call
from tests.hardening.routes import (
    operations,
    scheme,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


DOCTOR_ONLY = [
    ("POST", "/api/v1/appointments/{id}/confirm/"),
    ("POST", "/api/v1/appointments/{id}/complete/"),
    ("POST", "/api/v1/appointments/{id}/no-show/"),
    ("GET", "/api/v1/appointments/providers/me/"),
    ("PATCH", "/api/v1/appointments/providers/me/"),
    ("POST", "/api/v1/medications/prescriptions/"),
]
ADMIN_ONLY = [("POST", "/api/v1/auth/users/{user_id}/roles/"), ("DELETE", "/api/v1/auth/users/{user_id}/roles/")]


class TestAPI5BrokenFunctionLevelAuthorization:
    @pytest.mark.parametrize(("method", "path"), DOCTOR_ONLY, ids=[f"{m} {p}" for m, p in DOCTOR_ONLY])
    def test_a_patient_on_a_doctors_action_gets_403(self, method, path, world_a, api):
        before = api(world_a.owner).get(world_a.path("/api/v1/appointments/{id}/")).json()["status"]
        body = {"patient": str(world_a.owner.pk), "name": "Lisinopril", "dosage": 10, "dosage_unit": "mg"}

        r = call(api(world_a.owner), method, path.format(**world_a.ids.get(path, {})), body)

        assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")
        assert api(world_a.owner).get(world_a.path("/api/v1/appointments/{id}/")).json()["status"] == before

    @pytest.mark.parametrize("role", ["patient", "doctor"])
    @pytest.mark.parametrize(("method", "path"), ADMIN_ONLY, ids=["grant", "remove"])
    def test_a_patient_or_doctor_on_an_admin_action_gets_403_and_no_role_changes(
        self, role, method, path, user_a, user_b, api
    ):
        caller = user_a if role == "patient" else DoctorFactory()
        target = caller if method == "POST" else user_b

        r = call(api(caller), method, path.format(user_id=target.pk), {"role": "admin" if method == "POST" else "user"})

        assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")
        assert not target.is_superuser and "admin" not in api(target).get(ME).json()["roles"]

    def test_an_admin_may_grant_a_role(self, user_a, api):
        r = api(AdminFactory()).post(f"/api/v1/auth/users/{user_a.pk}/roles/", {"role": "doctor"}, format="json")

        assert r.status_code == 200
        assert "doctor" in api(user_a).get(ME).json()["roles"]

    def test_a_doctor_with_a_read_grant_cannot_change_the_patients_data(self, world_a, api):
        path = world_a.path("/api/v1/health-metrics/{id}/") + f"?patient={world_a.owner.pk}"

        assert api(world_a.doctor).get(path).status_code == 200
        assert api(world_a.doctor).patch(path, {"notes": "changed"}, format="json").status_code == 403
        assert api(world_a.doctor).delete(path).status_code == 403

    def test_every_person_operation_answers_401_without_credentials(self, anon):
        for path, method, operation in operations(OPENAPI):
            if scheme(operation) in ("jwtAuth", "ApiKeyAuth"):
                r = call(anon, method, re.sub(r"\{\w+\}", str(uuid.uuid4()), path))
                assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated"), f"{method} {path}"
