"""Fixtures of the device tests: paired devices of user_a and user_b, and clients carrying their keys."""

from __future__ import annotations

import pytest

from .factories import pair_device


@pytest.fixture
def watch_a(user_a):
    """user_a's verified, active smartwatch."""
    return pair_device(user_a)


@pytest.fixture
def watch_b(user_b):
    return pair_device(user_b)


@pytest.fixture
def unverified_a(user_a):
    return pair_device(user_a, verified=False)
