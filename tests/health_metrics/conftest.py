"""Clients whose requests run their after-commit work at once, as a real commit would.

Tests run inside a transaction that never commits, so `transaction.on_commit` callbacks (cache version bump,
rollup refresh, anomaly detection; tasks run eagerly in tests) would never fire. These clients capture the
callbacks of each request and run them when it returns, like the end of a real request transaction.
"""

from __future__ import annotations

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from accounts.services import tokens_for_user

BASE = "/api/v1/health-metrics/"


class CommittingClient(APIClient):
    def generic(self, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().generic(*args, **kwargs)


def committing_client_for(user) -> CommittingClient:
    client = CommittingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user)['access']}")
    client.user = user
    return client


@pytest.fixture
def api():
    return committing_client_for


@pytest.fixture
def client_a(user_a) -> CommittingClient:
    return committing_client_for(user_a)


@pytest.fixture
def client_b(user_b) -> CommittingClient:
    return committing_client_for(user_b)


def set_timezone(user, name: str) -> None:
    user.profile.timezone = name
    user.profile.save(update_fields=["timezone"])
