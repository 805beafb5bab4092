"""GET /notifications/, unread-count/, {id}/, {id}/read/, read-all/."""

from __future__ import annotations

import uuid

import pytest
from freezegun import freeze_time

from notifications.models import Notification
from notifications.services import notify

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def _notify(user, title="Hello", category="system", **kwargs) -> Notification:
    return notify(user=user, category=category, title=title, body="Body", **kwargs)


class TestList:
    def test_it_needs_credentials(self, anon):
        r = anon.get(URL)

        assert r.status_code == 401
        assert r.json()["error"]["code"] == "not_authenticated"

    def test_it_lists_my_notifications_newest_first_with_their_fields(self, user_a, user_b, client_a):
        with freeze_time("2026-05-01 08:00:00"):
            older = _notify(user_a, "Older", data={"reading_id": "r1"})
        with freeze_time("2026-05-02 08:00:00"):
            newer = _notify(user_a, "Newer", category="health_alert", severity="warning")
        _notify(user_b, "Not mine")

        r = client_a.get(URL)

        assert r.status_code == 200
        body = r.json()
        assert body["count"] == 2 and body["next"] is None and body["previous"] is None
        assert body["results"] == [
            {
                "id": str(newer.pk),
                "category": "health_alert",
                "severity": "warning",
                "title": "Newer",
                "body": "Body",
                "data": {},
                "is_read": False,
                "created_at": "2026-05-02T08:00:00Z",
            },
            {
                "id": str(older.pk),
                "category": "system",
                "severity": "info",
                "title": "Older",
                "body": "Body",
                "data": {"reading_id": "r1"},
                "is_read": False,
                "created_at": "2026-05-01T08:00:00Z",
            },
        ]
        assert r["Cache-Control"] == "no-store"

    def test_it_filters_by_read_state_and_category(self, user_a, client_a):
        read = _notify(user_a, "Read", category="device_alert")
        read.is_read = True
        read.save()
        _notify(user_a, "Unread alert", category="device_alert")
        _notify(user_a, "Unread system")

        unread = client_a.get(URL, {"is_read": "false"}).json()["results"]
        devices = client_a.get(URL, {"category": "device_alert"}).json()["results"]
        both = client_a.get(URL, {"category": "device_alert", "is_read": "true"}).json()["results"]

        assert sorted(n["title"] for n in unread) == ["Unread alert", "Unread system"]
        assert sorted(n["title"] for n in devices) == ["Read", "Unread alert"]
        assert [n["title"] for n in both] == ["Read"]

    def test_an_unknown_category_filter_is_a_validation_error(self, client_a):
        r = client_a.get(URL, {"category": "marketing"})

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert "category" in r.json()["error"]["fields"]

    def test_it_paginates_with_limit_and_offset(self, user_a, client_a):
        for i in range(3):
            _notify(user_a, f"N{i}")

        body = client_a.get(URL, {"limit": 2, "offset": 1}).json()

        assert body["count"] == 3 and len(body["results"]) == 2 and body["previous"] is not None

    def test_it_uses_a_fixed_number_of_queries(self, user_a, client_a, django_assert_max_num_queries):
        for i in range(25):
            _notify(user_a, f"N{i}")

        with django_assert_max_num_queries(6):
            assert client_a.get(URL, {"limit": 200}).status_code == 200


class TestRetrieve:
    def test_it_answers_my_notification(self, user_a, client_a):
        notification = _notify(user_a)

        r = client_a.get(f"{URL}{notification.pk}/")

        assert r.status_code == 200 and r.json()["id"] == str(notification.pk)

    def test_it_answers_404_for_another_persons_notification(self, user_b, client_a):
        notification = _notify(user_b)

        r = client_a.get(f"{URL}{notification.pk}/")

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


class TestUnreadCount:
    def test_it_counts_my_unread_notifications(self, user_a, user_b, client_a):
        _notify(user_a)
        _notify(user_a)
        read = _notify(user_a)
        Notification.objects.filter(pk=read.pk).update(is_read=True)
        _notify(user_b)

        r = client_a.get(f"{URL}unread-count/")

        assert r.status_code == 200
        assert r.json() == {"count": 2}

    def test_it_needs_credentials(self, anon):
        assert anon.get(f"{URL}unread-count/").status_code == 401


class TestMarkRead:
    def test_it_marks_one_notification_read(self, user_a, client_a):
        notification = _notify(user_a)
        other = _notify(user_a)

        r = client_a.post(f"{URL}{notification.pk}/read/")

        assert r.status_code == 200
        assert (r.json()["id"], r.json()["is_read"]) == (str(notification.pk), True)
        notification.refresh_from_db()
        assert notification.is_read and notification.read_at is not None
        assert Notification.objects.get(pk=other.pk).is_read is False

    def test_reading_twice_keeps_the_first_read_time(self, user_a, client_a):
        notification = _notify(user_a)
        client_a.post(f"{URL}{notification.pk}/read/")
        first = Notification.objects.get(pk=notification.pk).read_at

        client_a.post(f"{URL}{notification.pk}/read/")

        assert Notification.objects.get(pk=notification.pk).read_at == first

    def test_it_answers_404_for_another_persons_notification_and_leaves_it_unread(self, user_b, client_a):
        notification = _notify(user_b)

        r = client_a.post(f"{URL}{notification.pk}/read/")

        assert r.status_code == 404
        assert Notification.objects.get(pk=notification.pk).is_read is False

    def test_it_answers_404_for_an_unknown_id(self, client_a):
        assert client_a.post(f"{URL}{uuid.uuid4()}/read/").status_code == 404

    def test_it_needs_credentials(self, user_a, anon):
        assert anon.post(f"{URL}{_notify(user_a).pk}/read/").status_code == 401


class TestMarkAllRead:
    def test_it_marks_all_mine_read_and_nobody_elses(self, user_a, user_b, client_a):
        _notify(user_a)
        _notify(user_a)
        theirs = _notify(user_b)

        r = client_a.post(f"{URL}read-all/")

        assert r.status_code == 200
        assert r.json() == {"updated": 2}
        assert client_a.get(f"{URL}unread-count/").json() == {"count": 0}
        assert Notification.objects.get(pk=theirs.pk).is_read is False

    def test_it_needs_credentials(self, anon):
        assert anon.post(f"{URL}read-all/").status_code == 401
