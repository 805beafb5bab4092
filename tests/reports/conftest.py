"""Fixtures of the reports tests: files go to a temporary media root; a person with a history and a target."""

from __future__ import annotations

import pytest

from tests.health_metrics.factories import TargetFactory

from .factories import add_history


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Report files of each test land in its own folder (the local file system storage of the test settings)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def history_a(user_a):
    """user_a: 30 days of every metric type, two readings a day, flagged crisis readings on two days."""
    return add_history(user_a, days=30, per_day=2, anomaly_days=(10, 25))


@pytest.fixture
def steps_target_a(user_a):
    from django.utils import timezone

    return TargetFactory(
        user=user_a,
        metric_type="steps",
        target_type="minimum",
        target_value=3000,
        start_date=timezone.now().date().replace(day=1),
    )
