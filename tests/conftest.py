"""Fixtures shared by every app's tests: people, and API clients that carry a real JWT (not force_authenticate),
so that the authentication path itself is exercised on every call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import tokens_for_user
from tests.accounts.factories import AdminFactory, DoctorFactory, UserFactory


def clear_cache() -> None:
    """Empty the suite's cache. On Redis that deletes only this run's keys (its KEY_PREFIX): the database REDIS_URL
    names may be shared, and another run's counters or a broker's queues in it are not ours to wipe."""
    cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters, axes lockouts in cache, and cached reads never leak from one test to the next."""
    clear_cache()
    yield
    clear_cache()


ROLE_ROWS = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "initial_roles.json").read_text())


@pytest.fixture(autouse=True)
def _default_roles(request):
    """The roles of the data migration, back after a transactional test's flush emptied the tables."""
    if request.node.get_closest_marker("django_db") is None:
        return
    for row in ROLE_ROWS:
        Role.objects.get_or_create(name=row["fields"]["name"], defaults={"id": row["pk"], **row["fields"]})


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:
    """An APIClient that sends `Authorization: Bearer <access>` for USER, as the mobile app does."""
    client = APIClient()
    tokens = tokens_for_user(user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    client.tokens = tokens
    client.user = user
    return client


@pytest.fixture
def api():
    """`api(user)` returns an authenticated client for USER."""
    return client_for


@pytest.fixture
def user_a(db):
    return UserFactory()


@pytest.fixture
def user_b(db):
    return UserFactory()


@pytest.fixture
def doctor(db):
    return DoctorFactory()


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def client_a(user_a) -> APIClient:
    return client_for(user_a)


@pytest.fixture
def client_b(user_b) -> APIClient:
    return client_for(user_b)
