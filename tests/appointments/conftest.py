"""Fixtures of the appointment tests.

The clock is frozen for every test at NOW, a Monday morning in the week before Europe/Berlin switches to
summer time (Sunday 2025-03-30, 02:00 CET → 03:00 CEST). The provider works in Berlin, 09:00–17:00 Monday
to Friday, so Monday's first slot is 08:00 UTC and the next Monday's is 07:00 UTC.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from accounts.models import CareTeamGrant

from .factories import ProviderProfileFactory

NOW = datetime(2025, 3, 24, 6, 0, tzinfo=UTC)  # Monday 07:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
URL = "/api/v1/appointments/"


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def iso(moment: datetime) -> str:
    return moment.isoformat()


MONDAY = date(2025, 3, 24)
TUESDAY = date(2025, 3, 25)
SATURDAY = date(2025, 3, 29)
NEXT_MONDAY = date(2025, 3, 31)


class PackageClock:
    """One freezegun patch for all the tests of this package, set back to NOW before each test.

    Starting freezegun costs tens of milliseconds (it scans every loaded module), once per test that adds up.
    """

    def __init__(self) -> None:
        self._freezer = freeze_time(NOW)
        self.factory = None

    def start(self) -> None:
        self.factory = self._freezer.start()

    def stop(self) -> None:
        self._freezer.stop()
        self.factory = None

    @contextmanager
    def paused(self):
        """The real clock for a while (for the few tests freezegun's datetime subclass gets in the way of)."""
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture(scope="package")
def package_clock():
    clock = PackageClock()
    clock.start()
    yield clock
    clock.stop()


@pytest.fixture(autouse=True)
def frozen(package_clock):
    """The frozen clock at NOW; `frozen.move_to(...)` and `frozen.tick(...)` move it within the test."""
    package_clock.factory.move_to(NOW)
    return package_clock.factory


@pytest.fixture
def provider(doctor):
    """The `doctor` fixture's provider profile (Berlin, Mon–Fri 09:00–17:00, 30 minutes)."""
    return ProviderProfileFactory(doctor=doctor)


@pytest.fixture
def client_doctor(api, doctor):
    return api(doctor)


@pytest.fixture
def book(client_a, provider):
    """`book(start, **fields)`: user_a books with the provider; answers the response."""

    def _book(start: datetime, client=None, **fields):
        body = {"provider": str(provider.doctor_id), "start_time": iso(start), "appointment_type": "in_person"}
        body.update(fields)
        return (client or client_a).post(URL, body, format="json")

    return _book


def grant(patient, doctor, scopes=("appointments",)) -> CareTeamGrant:
    return CareTeamGrant.objects.create(patient=patient, grantee=doctor, scopes=list(scopes))
