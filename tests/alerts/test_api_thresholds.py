"""CRUD /notifications/alert-thresholds/."""

from __future__ import annotations

import pytest

from alerts.models import AlertThreshold

from .factories import AlertThresholdFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/alert-thresholds/"


class TestCreate:
    def test_it_needs_credentials(self, anon):
        assert anon.post(URL, {"metric_type": "heart_rate", "max_value": 120}, format="json").status_code == 401

    def test_it_adds_a_threshold(self, client_a, user_a):
        r = client_a.post(URL, {"metric_type": "heart_rate", "max_value": 120, "severity": "critical"}, format="json")

        assert r.status_code == 201
        threshold = AlertThreshold.objects.get()
        assert r.json() == {
            "id": str(threshold.pk),
            "metric_type": "heart_rate",
            "min_value": None,
            "max_value": 120.0,
            "diastolic_min_value": None,
            "diastolic_max_value": None,
            "severity": "critical",
            "created_at": r.json()["created_at"],
            "updated_at": r.json()["updated_at"],
        }
        assert threshold.user == user_a

    def test_severity_defaults_to_warning(self, client_a):
        r = client_a.post(URL, {"metric_type": "blood_sugar", "min_value": 70}, format="json")

        assert r.json()["severity"] == "warning"

    def test_blood_pressure_takes_diastolic_bounds(self, client_a):
        body = {"metric_type": "blood_pressure", "max_value": 140, "diastolic_max_value": 90}

        r = client_a.post(URL, body, format="json")

        assert r.status_code == 201 and r.json()["diastolic_max_value"] == 90.0

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"metric_type": "heart_rate"}, "non_field_errors"),
            ({"metric_type": "heart_rate", "min_value": 120, "max_value": 60}, "min_value"),
            ({"metric_type": "heart_rate", "min_value": 60, "max_value": 60}, "min_value"),
            ({"metric_type": "heart_rate", "diastolic_max_value": 90}, "diastolic_max_value"),
            ({"metric_type": "mood", "max_value": 3}, "metric_type"),
            ({"metric_type": "heart_rate", "max_value": "high"}, "max_value"),
            ({"metric_type": "heart_rate", "max_value": 1e300}, "max_value"),
            ({"metric_type": "heart_rate", "max_value": 120, "severity": "panic"}, "severity"),
        ],
        ids=["no-bound", "min-above-max", "min-equals-max", "diastolic-not-bp", "metric", "string", "huge", "sev"],
    )
    def test_invalid_input_answers_a_validation_error(self, client_a, body, field):
        r = client_a.post(URL, body, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["code"] == "validation_error"
        assert field in r.json()["error"]["fields"]
        assert not AlertThreshold.objects.exists()

    def test_a_second_threshold_of_the_same_metric_and_severity_is_refused(self, client_a, user_a):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate", severity="warning")

        r = client_a.post(URL, {"metric_type": "heart_rate", "max_value": 130, "severity": "warning"}, format="json")

        assert r.status_code == 400
        assert r.json()["error"]["fields"] == {"metric_type": ["You already have a warning threshold for this metric."]}

    def test_another_persons_threshold_does_not_count_as_a_duplicate(self, client_a, user_b):
        AlertThresholdFactory(user=user_b, metric_type="heart_rate", severity="warning")

        r = client_a.post(URL, {"metric_type": "heart_rate", "max_value": 130}, format="json")

        assert r.status_code == 201


class TestReadUpdateDelete:
    def test_it_lists_only_my_thresholds(self, client_a, user_a, user_b, django_assert_max_num_queries):
        AlertThresholdFactory(user=user_a, metric_type="heart_rate")
        AlertThresholdFactory(user=user_a, metric_type="weight", min_value=None, max_value=110)
        AlertThresholdFactory(user=user_b)

        with django_assert_max_num_queries(5):
            r = client_a.get(URL)

        assert sorted(t["metric_type"] for t in r.json()["results"]) == ["heart_rate", "weight"]

    def test_a_partial_update_is_checked_against_the_stored_bounds(self, client_a, user_a):
        threshold = AlertThresholdFactory(user=user_a, min_value=40, max_value=120)

        r = client_a.patch(f"{URL}{threshold.pk}/", {"min_value": 130}, format="json")

        assert r.status_code == 400 and "min_value" in r.json()["error"]["fields"]
        threshold.refresh_from_db()
        assert threshold.min_value == 40

    def test_it_updates_a_threshold(self, client_a, user_a):
        threshold = AlertThresholdFactory(user=user_a, min_value=40, max_value=120)

        r = client_a.patch(f"{URL}{threshold.pk}/", {"max_value": 110, "severity": "critical"}, format="json")

        assert r.status_code == 200
        assert (r.json()["max_value"], r.json()["severity"]) == (110.0, "critical")

    def test_changing_to_a_taken_severity_is_refused(self, client_a, user_a):
        AlertThresholdFactory(user=user_a, severity="critical", max_value=150)
        threshold = AlertThresholdFactory(user=user_a, severity="warning")

        r = client_a.patch(f"{URL}{threshold.pk}/", {"severity": "critical"}, format="json")

        assert r.status_code == 400 and "metric_type" in r.json()["error"]["fields"]

    def test_it_deletes_a_threshold(self, client_a, user_a):
        threshold = AlertThresholdFactory(user=user_a)

        assert client_a.delete(f"{URL}{threshold.pk}/").status_code == 204
        assert not AlertThreshold.objects.exists()

    @pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
    def test_another_persons_threshold_is_404(self, client_a, user_b, method):
        threshold = AlertThresholdFactory(user=user_b, max_value=120)

        body = {"metric_type": "heart_rate", "max_value": 999}
        r = getattr(client_a, method)(f"{URL}{threshold.pk}/", body, format="json")

        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert AlertThreshold.objects.get(pk=threshold.pk).max_value == 120
