"""OWASP API3 Broken Object Property Level Authorization (2023); what the modules share: the package docstring."""

from __future__ import annotations

import uuid

import pytest

from health_metrics.models import HealthMetric
from tests.accounts.factories import PASSWORD
from tests.hardening.conftest import build_world
from tests.hardening.owasp.common import ME, OPENAPI, SOON
from tests.hardening.routes import (
    operations,
    scheme,
)
from tests.iot_devices.factories import pair_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


class TestAPI3BrokenObjectPropertyLevelAuthorization:
    def test_current_user_patch_ignores_every_privileged_field(self, user_a, user_b, api):
        hostile = {
            "email": "taken@evil.test",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "roles": ["admin", "doctor"],
            "is_email_verified": False,
            "id": str(user_b.pk),
            "date_joined": "2000-01-01T00:00:00Z",
            "password": "md5$x$y",
        }
        r = api(user_a).patch(ME, {**hostile, "first_name": "Ada"}, format="json")
        user_a.refresh_from_db()

        assert r.status_code == 200
        assert (user_a.first_name, user_a.email, user_a.is_staff, user_a.is_superuser) == ("Ada", user_a.email, 0, 0)
        assert user_a.is_active and user_a.check_password(PASSWORD)
        assert r.json()["roles"] == ["user"]
        assert api(user_a).post(f"/api/v1/auth/users/{user_b.pk}/roles/", {"role": "doctor"}).status_code == 403

    def test_a_device_cannot_be_verified_activated_or_given_away_by_a_patch(self, user_a, user_b, api):
        watch = pair_device(user_a, verified=False)
        hostile = {"status": "active", "is_verified": True, "owner": str(user_b.pk), "api_key": "jegd_x_y", "id": "1"}

        r = api(user_a).patch(f"/api/v1/devices/{watch.device.pk}/", {**hostile, "name": "Mine"}, format="json")
        device = watch.refresh()

        assert r.status_code == 200
        assert (device.name, device.status, device.is_verified, device.owner_id) == (
            "Mine",
            "pending_verification",
            False,
            user_a.pk,
        )

    def test_a_reading_cannot_be_moved_to_another_person_or_disguised_as_a_devices(self, world_a, user_b, api):
        path = world_a.path("/api/v1/health-metrics/{id}/")
        hostile = {"user": str(user_b.pk), "source": "device", "device": str(uuid.uuid4()), "is_anomaly": True}

        r = api(world_a.owner).patch(path, {**hostile, "notes": "ok"}, format="json")

        assert r.status_code == 200
        assert (r.json()["source"], r.json()["device"], r.json()["is_anomaly"]) == ("manual", None, False)
        assert HealthMetric.objects.get(pk=r.json()["id"]).user_id == world_a.owner.pk

    def test_a_patient_cannot_confirm_or_move_an_appointment_by_a_patch(self, world_a, api):
        path = world_a.path("/api/v1/appointments/{id}/")
        before = api(world_a.owner).get(path).json()
        hostile = {"status": "completed", "patient": str(uuid.uuid4()), "start_time": SOON, "provider": None}

        r = api(world_a.owner).patch(path, {**hostile, "reason": "Checkup"}, format="json")

        # Refused by name (400), not silently dropped: each of these has its own action.
        assert r.status_code == 400
        assert set(r.json()["error"]["fields"]) == {"status", "patient", "start_time", "provider"}
        assert api(world_a.owner).get(path).json() == before

    def test_no_answer_shows_secrets_or_another_persons_address(
        self, world_a, user_b, api, leak_guard, django_capture_on_commit_callbacks
    ):
        build_world(user_b, django_capture_on_commit_callbacks)
        leak_guard.forbid(user_b.email, str(user_b.pk), to=world_a.owner)
        owner = api(world_a.owner)

        for path, method, operation in operations(OPENAPI):
            if method == "GET" and scheme(operation) == "jwtAuth":
                query = {"format": "csv"} if path.endswith("/export/") else {}
                assert owner.get(path.format(**world_a.ids.get(path, {})), query).status_code < 500, path
        assert len(leak_guard.bodies) > 40
