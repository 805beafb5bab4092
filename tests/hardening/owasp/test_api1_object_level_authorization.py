"""OWASP API1 Broken Object Level Authorization (2023); what the modules share: the package docstring."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import AuditEvent
from health_metrics.models import HealthMetric
from tests.hardening.owasp.common import BATCHES, OPENAPI, SOON, call
from tests.hardening.routes import (
    list_routes,
    object_routes,
    readback_path,
)
from tests.iot_devices.factories import pair_device, reading

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("leak_guard")]


# Every route that addresses one object, by what protects it. OWNED: a person's own object; anyone else's id is
# indistinguishable from a missing one (404) for read, change and delete alike.
OWNED_BODIES: dict[str, dict[str, dict]] = {
    "/api/v1/alerts/{id}/": {},
    "/api/v1/alerts/{id}/acknowledge/": {},
    "/api/v1/appointments/{id}/": {"PATCH": {"reason": "taken over"}},
    "/api/v1/appointments/{id}/cancel/": {"POST": {"reason": "taken over"}},
    "/api/v1/appointments/{id}/complete/": {},
    "/api/v1/appointments/{id}/confirm/": {},
    "/api/v1/appointments/{id}/no-show/": {},
    "/api/v1/appointments/{id}/reschedule/": {"POST": {"start_time": SOON}},
    "/api/v1/auth/care-team/{id}/": {},
    "/api/v1/auth/sessions/{id}/": {},
    "/api/v1/devices/{device_pk}/batches/": {},
    "/api/v1/devices/{device_pk}/batches/{id}/": {},
    "/api/v1/devices/{id}/": {"PATCH": {"name": "taken over"}},
    "/api/v1/devices/{id}/deactivate/": {},
    "/api/v1/devices/{id}/rotate-key/": {},
    "/api/v1/devices/alerts/{id}/resolve/": {},
    "/api/v1/health-metrics/{id}/": {"PATCH": {"notes": "taken over"}},
    "/api/v1/health-metrics/targets/{id}/": {"PATCH": {"target_value": 5}},
    "/api/v1/health-metrics/targets/{id}/progress/": {},
    "/api/v1/health-metrics/imports/{id}/": {},
    "/api/v1/medications/{id}/": {"PATCH": {"dosage": 20}},
    "/api/v1/medications/{id}/log/": {"POST": {"scheduled_for": "2025-03-02T08:00:00+00:00", "status": "taken"}},
    "/api/v1/notifications/{id}/": {},
    "/api/v1/notifications/{id}/read/": {},
    "/api/v1/notifications/alert-thresholds/{id}/": {
        "PUT": {"metric_type": "heart_rate", "min_value": 30, "max_value": 200, "severity": "warning"},
        "PATCH": {"max_value": 200},
    },
    "/api/v1/notifications/emergency-contacts/{id}/": {
        "PUT": {"name": "Mallory", "relationship": "none", "phone_number": "+33 6 00 00 00 00", "email": "m@evil.test"},
        "PATCH": {"email": "m@evil.test"},
    },
    "/api/v1/reports/{id}/": {},
    "/api/v1/reports/{id}/download/": {},
    # A clinic is its members': to anyone else it does not exist.
    "/api/v1/organizations/{id}/": {"PATCH": {"name": "taken over"}},
    "/api/v1/organizations/{id}/members/": {"POST": {"email": "m@evil.test", "role": "staff"}},
}
# Routes of a clinic's members, each with its own outsider-gets-404 tests: removing a member (the last clinic admin
# cannot be removed, so the world's seat makes no case here) and a provider's schedule (clinic admins only).
MEMBERSHIP = {
    "/api/v1/organizations/{id}/members/{member_id}/": "tests/accounts/test_api_organizations.py",
    "/api/v1/appointments/providers/{id}/schedule/": "tests/appointments/test_api_clinic_staff.py",
}
SHARED = {
    "/api/v1/appointments/providers/{id}/availability/": "the provider directory: any signed-in person books",
    "/api/v1/medications/catalog/{id}/": "reference data loaded from fixtures, the same for everyone",
    "/api/v1/medications/categories/{id}/": "reference data loaded from fixtures, the same for everyone",
}
CAPABILITY = {
    "/api/v1/appointments/calendar/{token}.ics": "a secret URL for calendar apps: the token is the credential",
}
FUNCTION = {"/api/v1/auth/users/{user_id}/roles/": "an admin function on any account: API5"}
OWNED_CASES = [(path, method) for path, methods in object_routes(OPENAPI).items() if path in OWNED_BODIES
               for method in methods]  # fmt: skip


class TestAPI1BrokenObjectLevelAuthorization:
    def test_every_object_route_has_a_policy(self):
        policies = {*OWNED_BODIES, *SHARED, *CAPABILITY, *FUNCTION, *MEMBERSHIP}

        assert set(object_routes(OPENAPI)) - policies == set(), "an object route without a BOLA case"
        assert policies - set(object_routes(OPENAPI)) == set(), "a BOLA case for a route that no longer exists"

    @pytest.mark.parametrize(("path", "method"), OWNED_CASES, ids=[f"{m} {p}" for p, m in OWNED_CASES])
    def test_another_persons_object_answers_404_and_stays_as_it_was(
        self, path, method, world_a, api, user_b, leak_guard
    ):
        owner, intruder = api(world_a.owner), api(user_b)
        readback = readback_path(OPENAPI, path).format(**world_a.ids[path])
        before = owner.get(readback).json()
        leak_guard.forbid(world_a.owner.email, str(world_a.owner.pk), to=user_b)

        r = call(intruder, method, world_a.path(path), OWNED_BODIES[path].get(method))

        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), r.content
        assert owner.get(readback).json() == before
        assert not AuditEvent.objects.filter(actor=user_b).exists()

    @pytest.mark.parametrize("path", list_routes(OPENAPI))
    def test_no_list_shows_another_persons_rows_whatever_the_filters(self, path, world_a, api, user_b, leak_guard):
        owned_ids = {v for p, ids in world_a.ids.items() if p in OWNED_BODIES for v in ids.values()}
        leak_guard.forbid(world_a.owner.email, str(world_a.owner.pk), *owned_ids, to=user_b)
        intruder = api(user_b)
        url = path.format(**world_a.ids.get(path, {}))
        device = world_a.ids["/api/v1/devices/{id}/"]["id"]

        for query in ({}, {"patient": world_a.owner.pk}, {"user": world_a.owner.pk}, {"device": device}):
            r = intruder.get(url, {**query, "limit": 200})

            assert r.status_code in (200, 400, 404), (query, r.content)

    def test_shared_reference_data_is_readable_by_every_person(self, world_a, api, user_b):
        intruder = api(user_b)

        for path in SHARED:
            query = {"date": SOON[:10]} if "availability" in path else {}
            assert intruder.get(world_a.path(path), query).status_code == 200, path

    def test_the_calendar_feed_answers_only_its_own_secret_token(self, world_a, anon):
        feed = world_a.path("/api/v1/appointments/calendar/{token}.ics")

        assert anon.get(feed).status_code == 200
        assert anon.get(feed.replace(feed[-10:-4], "AAAAAA")).status_code == 404

    def test_a_device_writes_only_to_its_owners_readings(self, user_a, user_b, django_capture_on_commit_callbacks):
        watch = pair_device(user_a)
        with django_capture_on_commit_callbacks(execute=True):
            r = watch.client().post(
                BATCHES,
                {"batch_id": str(uuid.uuid4()), "readings": [reading(user=str(user_b.pk), user_id=str(user_b.pk))]},
                format="json",
            )

        assert r.status_code == 202
        assert HealthMetric.objects.filter(user=user_a).count() == 1
        assert not HealthMetric.objects.filter(user=user_b).exists()
