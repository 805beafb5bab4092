"""Delta sync: `changes/` (upserts and deletes in order, an opaque cursor, tombstones 30 days) and the ETag of
one reading with `If-Match` on PATCH and DELETE."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from health_metrics.models import HealthMetric, ReadingChange
from health_metrics.selectors import BatchReadings
from health_metrics.services import metrics_changed
from health_metrics.sync import Position, _encode
from health_metrics.tasks import prune_tombstones
from tests.health_metrics.conftest import BASE, committing_client_for
from tests.health_metrics.factories import HealthMetricFactory

pytestmark = pytest.mark.django_db


def reading(value: float = 70, minutes_ago: int = 60) -> dict:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return {"metric_type": "heart_rate", "value": value, "recorded_at": moment.isoformat()}


def sync(client, since: str | None = None) -> dict:
    response = client.get(BASE + "changes/", {"since": since} if since else {})
    assert response.status_code == 200, response.json()
    return response.json()


def ops(body: dict) -> list[tuple[str, str]]:
    return [(c["op"], c["id"]) for c in body["changes"]]


class TestChangesFeed:
    def test_two_clients_stay_in_step_through_creates_edits_and_deletes(self, user_a):
        phone, web = committing_client_for(user_a), committing_client_for(user_a)
        first = phone.post(BASE, reading(61), format="json").json()
        second = web.post(BASE, reading(62, minutes_ago=30), format="json").json()
        start = sync(web)
        assert ops(start) == [("upsert", first["id"]), ("upsert", second["id"])]
        assert start["has_more"] is False

        phone.patch(BASE + f"{first['id']}/", {"notes": "after a run"}, format="json")
        web.delete(BASE + f"{second['id']}/")
        third = phone.post(BASE, reading(63, minutes_ago=10), format="json").json()
        later = sync(phone, start["cursor"])

        assert ops(later) == [("upsert", first["id"]), ("delete", second["id"]), ("upsert", third["id"])]
        assert later["changes"][0]["reading"]["notes"] == "after a run"
        assert "reading" not in later["changes"][1]
        # Nothing new: an empty page, and the cursor still works.
        assert sync(web, later["cursor"])["changes"] == []
        # From the start, only what exists now (and the tombstone).
        assert ops(sync(web)) == [("upsert", first["id"]), ("delete", second["id"]), ("upsert", third["id"])]

    def test_it_pages_500_at_a_time(self, client_a):
        client_a.post(BASE + "bulk/", {"metrics": [reading(60 + i % 40, minutes_ago=i + 1) for i in range(620)]},
                      format="json")  # fmt: skip

        page = sync(client_a)
        rest = sync(client_a, page["cursor"])

        assert (len(page["changes"]), page["has_more"]) == (500, True)
        assert (len(rest["changes"]), rest["has_more"]) == (120, False)
        assert len({c["id"] for c in page["changes"] + rest["changes"]}) == 620

    def test_a_device_batch_is_expanded_to_its_readings_across_pages(self, user_a, client_a):
        batch = uuid.uuid4()
        start = datetime(2025, 7, 1, tzinfo=UTC)
        rows = [
            HealthMetricFactory(
                user=user_a, device_data_batch_id=batch, recorded_at=start + timedelta(minutes=i), source="device"
            )
            for i in range(700)
        ]
        metrics_changed(
            user_id=user_a.pk,
            metric_types=["heart_rate"],
            start=start,
            end=rows[-1].recorded_at,
            batch=BatchReadings(batch, start, rows[-1].recorded_at),
        )

        page = sync(client_a)
        rest = sync(client_a, page["cursor"])

        assert (len(page["changes"]), page["has_more"], len(rest["changes"]), rest["has_more"]) == (
            500,
            True,
            200,
            False,
        )
        assert {c["id"] for c in page["changes"] + rest["changes"]} == {str(r.pk) for r in rows}

    def test_a_cursor_older_than_30_days_is_gone(self, client_a):
        old = _encode(Position(), timezone.now() - timedelta(days=31))

        response = client_a.get(BASE + "changes/", {"since": old})

        assert response.status_code == 410
        assert response.json()["error"]["code"] == "gone"

    def test_a_made_up_cursor_is_refused(self, client_a):
        response = client_a.get(BASE + "changes/", {"since": "eyJ4IjoxfQ:forged"})

        assert response.status_code == 400
        assert "since" in response.json()["error"]["fields"]

    def test_another_persons_changes_are_not_shown(self, client_a, client_b):
        client_b.post(BASE, reading(), format="json")

        assert sync(client_a)["changes"] == []

    def test_tombstones_are_kept_30_days(self, client_a, user_a):
        created = client_a.post(BASE, reading(), format="json").json()
        client_a.delete(BASE + f"{created['id']}/")
        ReadingChange.objects.filter(op="delete").update(created_at=timezone.now() - timedelta(days=29))
        assert prune_tombstones() == 0

        ReadingChange.objects.filter(op="delete").update(created_at=timezone.now() - timedelta(days=31))

        assert prune_tombstones() == 1
        assert not ReadingChange.objects.filter(op="delete").exists()

    def test_it_needs_credentials(self, anon):
        assert anon.get(BASE + "changes/").status_code == 401


class TestETag:
    def test_get_answers_an_etag_that_changes_with_the_reading(self, client_a):
        created = client_a.post(BASE, reading(), format="json").json()
        etag = client_a.get(BASE + f"{created['id']}/").headers["ETag"]

        client_a.patch(BASE + f"{created['id']}/", {"notes": "x"}, format="json", HTTP_IF_MATCH=etag)

        assert client_a.get(BASE + f"{created['id']}/").headers["ETag"] != etag

    def test_a_stale_if_match_on_patch_is_412_and_changes_nothing(self, user_a):
        phone, web = committing_client_for(user_a), committing_client_for(user_a)
        created = phone.post(BASE, reading(), format="json").json()
        stale = web.get(BASE + f"{created['id']}/").headers["ETag"]
        phone.patch(BASE + f"{created['id']}/", {"notes": "phone"}, format="json")

        response = web.patch(BASE + f"{created['id']}/", {"notes": "web"}, format="json", HTTP_IF_MATCH=stale)

        assert response.status_code == 412
        assert response.json()["error"]["code"] == "precondition_failed"
        assert HealthMetric.objects.get(pk=created["id"]).notes == "phone"

    def test_a_stale_if_match_on_delete_is_412_and_keeps_the_reading(self, user_a):
        phone, web = committing_client_for(user_a), committing_client_for(user_a)
        created = phone.post(BASE, reading(), format="json").json()
        stale = web.get(BASE + f"{created['id']}/").headers["ETag"]
        phone.patch(BASE + f"{created['id']}/", {"notes": "phone"}, format="json")

        response = web.delete(BASE + f"{created['id']}/", HTTP_IF_MATCH=stale)

        assert response.status_code == 412
        assert HealthMetric.objects.filter(pk=created["id"]).exists()

    def test_a_current_if_match_deletes(self, client_a):
        created = client_a.post(BASE, reading(), format="json").json()
        etag = client_a.get(BASE + f"{created['id']}/").headers["ETag"]

        assert client_a.delete(BASE + f"{created['id']}/", HTTP_IF_MATCH=etag).status_code == 204
        assert not HealthMetric.objects.filter(pk=created["id"]).exists()
