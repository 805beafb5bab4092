"""`imports/`: Apple Health, FHIR and Health Connect files through HTTP; the task runs in line here (the worker
test, test_import_worker.py, runs it in a real Celery worker)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from health_metrics.imports.run import upload_storage
from health_metrics.models import HealthMetric, ImportJob
from tests.health_metrics import import_files as files
from tests.health_metrics.conftest import BASE

pytestmark = pytest.mark.django_db

URL = BASE + "imports/"


def upload(client, content: bytes, format: str, name: str = "export.xml"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content), "format": format}, format="multipart")


def imported(client, content: bytes, format: str, name: str = "export.xml") -> dict:
    response = upload(client, content, format, name)
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    return client.get(URL + f"{response.json()['id']}/").json()


class TestAppleHealth:
    def test_every_mapped_type_is_stored_in_its_canonical_unit(self, client_a, user_a):
        body = imported(client_a, files.apple_export(files.SAMPLE_BODY), "apple_health")

        assert body["status"] == "completed", body
        assert body["counts_by_type"] == files.SAMPLE_COUNTS
        assert (body["created_count"], body["duplicate_count"], body["skipped_count"]) == (13, 0, 0)
        stored = {m.metric_type: m for m in HealthMetric.objects.filter(user=user_a).exclude(metric_type="calories")}
        assert stored["weight"].value == pytest.approx(69.99, abs=0.01)  # 154.3 lb
        assert stored["blood_sugar"].value == pytest.approx(99.09, abs=0.01)  # 5.5 mmol/L
        assert stored["temperature"].value == pytest.approx(37.0)
        assert stored["oxygen_saturation"].value == pytest.approx(97.0)
        assert stored["body_fat_percentage"].value == pytest.approx(22.0)
        assert (stored["blood_pressure"].systolic_value, stored["blood_pressure"].diastolic_value) == (128, 82)
        assert stored["sleep_hours"].value == pytest.approx(6.5)
        heart = stored["heart_rate"]
        assert (heart.source, heart.source_name, heart.recorded_offset_minutes) == ("import", "Ada's Apple Watch", -300)
        assert stored["steps"].ended_at is not None
        assert sorted(HealthMetric.objects.filter(metric_type="calories").values_list("value", flat=True)) == [12, 35.5]

    def test_the_zip_the_health_app_writes_is_read(self, client_a):
        body = imported(client_a, files.apple_zip(files.apple_export(files.SAMPLE_BODY)), "apple_health", "export.zip")

        assert body["status"] == "completed"
        assert body["created_count"] == 13

    def test_a_reimport_stores_nothing(self, client_a, user_a):
        content = files.apple_export(files.SAMPLE_BODY)
        imported(client_a, content, "apple_health")

        again = imported(client_a, content, "apple_health")

        assert (again["created_count"], again["duplicate_count"]) == (0, 13)
        assert HealthMetric.objects.filter(user=user_a).count() == 13

    @pytest.mark.parametrize(
        ("content", "name"),
        [
            (files.apple_export(files.SAMPLE_BODY)[:-40], "export.xml"),
            (files.apple_zip(files.apple_export(files.SAMPLE_BODY))[:-60], "export.zip"),
            (b'{"records": []}', "export.xml"),
            (files.BOMB, "export.xml"),
            (b"<Other/>", "export.xml"),
        ],
        ids=["truncated-xml", "truncated-zip", "not-xml", "entity-bomb", "other-root"],
    )
    def test_a_broken_file_fails_and_stores_nothing(self, client_a, user_a, content, name):
        body = imported(client_a, content, "apple_health", name)

        assert body["status"] == "failed"
        assert body["error"]
        assert body["created_count"] == 0
        assert not HealthMetric.objects.filter(user=user_a).exists()

    def test_refused_records_are_listed_and_the_rest_stored(self, client_a, user_a):
        body_xml = (
            files.record("HKQuantityTypeIdentifierHeartRate", 62, "count/min", "2025-01-01 08:00:00 -0500")
            + files.record("HKQuantityTypeIdentifierHeartRate", 900, "count/min", "2025-01-01 08:01:00 -0500")
            + files.record("HKQuantityTypeIdentifierHeartRate", 63, "count/min", "2099-01-01 08:01:00 -0500")
            + files.record("HKQuantityTypeIdentifierBodyMass", 70, "stone", "2025-01-01 08:01:00 -0500")
        )

        body = imported(client_a, files.apple_export(body_xml), "apple_health")

        assert body["status"] == "completed"
        assert (body["created_count"], body["skipped_count"]) == (1, 3)
        assert [(e["position"], e["code"]) for e in body["errors"]] == [
            (2, "invalid_record"),
            (3, "invalid_record"),
            (4, "invalid_record"),
        ]
        assert "future" in body["errors"][1]["message"]
        assert HealthMetric.objects.filter(user=user_a).count() == 1

    def test_an_export_of_no_records_completes_with_zeros(self, client_a):
        body = imported(client_a, files.apple_export(""), "apple_health")

        assert body["status"] == "completed"
        assert (body["created_count"], body["duplicate_count"], body["skipped_count"]) == (0, 0, 0)
        assert body["counts_by_type"] == {}


class TestHealthConnect:
    def test_the_contracts_shape_is_stored(self, client_a, user_a):
        body = imported(client_a, files.health_connect(files.HEALTH_CONNECT_RECORDS), "health_connect", "hc.json")

        assert body["status"] == "completed", body
        assert body["created_count"] == 5
        steps = HealthMetric.objects.get(user=user_a, metric_type="steps")
        assert (steps.source_name, steps.value, steps.recorded_offset_minutes) == (
            "com.google.android.apps.fitness",
            1800,
            60,
        )
        assert HealthMetric.objects.get(user=user_a, metric_type="sleep_hours").ended_at is not None

    def test_an_unknown_type_is_listed(self, client_a):
        records = [*files.HEALTH_CONNECT_RECORDS[:1], {"type": "Hydration", "start_time": "2025-02-01T08:00:00Z"}]

        body = imported(client_a, files.health_connect(records), "health_connect", "hc.json")

        assert (body["created_count"], body["skipped_count"]) == (1, 1)
        assert body["errors"][0]["position"] == 2

    def test_a_file_of_another_shape_fails(self, client_a):
        body = imported(client_a, b'{"data": []}', "health_connect", "hc.json")

        assert body["status"] == "failed"


class TestFhir:
    def test_a_bundle_of_observations_is_stored(self, client_a, user_a):
        bundle = files.fhir_bundle(
            [
                files.observation("8867-4", 64, "/min", "2025-03-01T08:00:00+02:00"),
                files.observation("29463-7", 71.5, "kg", "2025-03-01T07:00:00+02:00"),
                files.observation("9999-9", 1, "kg", "2025-03-01T07:00:00+02:00"),
            ]
        )

        body = imported(client_a, bundle, "fhir", "bundle.json")

        assert (body["created_count"], body["skipped_count"]) == (2, 1)
        assert body["errors"][0]["code"] == "unsupported_record"
        assert HealthMetric.objects.get(user=user_a, metric_type="heart_rate").recorded_offset_minutes == 120

    def test_a_round_trip_through_the_export_stores_nothing_twice(self, client_a, user_a):
        client_a.post(
            BASE + "bulk/",
            {
                "metrics": [
                    {"metric_type": "heart_rate", "value": 61, "recorded_at": "2025-03-01T08:00:00Z"},
                    {"metric_type": "steps", "value": 500, "recorded_at": "2025-03-01T09:00:00Z"},
                    {"metric_type": "blood_pressure", "systolic_value": 120, "diastolic_value": 80,
                     "recorded_at": "2025-03-01T10:00:00Z"},
                ]
            },
            format="json",
        )  # fmt: skip
        exported = b"".join(client_a.get(BASE + "export/", {"format": "fhir"}).streaming_content)

        body = imported(client_a, exported, "fhir", "bundle.json")

        assert (body["created_count"], body["duplicate_count"], body["skipped_count"]) == (0, 3, 0), body
        assert HealthMetric.objects.filter(user=user_a).count() == 3


class TestAccess:
    def test_another_persons_import_is_404(self, client_a, client_b):
        theirs = upload(client_b, files.apple_export(""), "apple_health").json()

        assert client_a.get(URL + f"{theirs['id']}/").status_code == 404
        assert client_a.get(URL).json()["count"] == 0

    def test_the_list_shows_ones_own_imports(self, client_a):
        upload(client_a, files.apple_export(""), "apple_health")

        rows = client_a.get(URL).json()["results"]

        assert [r["status"] for r in rows] == ["completed"]

    def test_it_needs_credentials(self, anon):
        assert anon.get(URL).status_code == 401

    def test_a_file_over_the_limit_is_413(self, client_a, settings):
        settings.IMPORT_MAX_BYTES = 100

        response = upload(client_a, files.apple_export(files.SAMPLE_BODY), "apple_health")

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert not ImportJob.objects.exists()

    def test_a_large_file_passes_the_general_body_cap(self, client_a, settings):
        settings.MAX_REQUEST_BODY_BYTES = 1000

        response = upload(client_a, files.apple_export(files.SAMPLE_BODY), "apple_health")

        assert response.status_code == 202

    def test_an_unknown_format_is_400(self, client_a):
        response = upload(client_a, b"{}", "garmin")

        assert response.status_code == 400
        assert "format" in response.json()["error"]["fields"]

    def test_the_upload_is_deleted_when_done(self, client_a):
        body = imported(client_a, files.apple_export(files.SAMPLE_BODY), "apple_health")

        job = ImportJob.objects.get(pk=body["id"])
        assert job.file_name
        assert not upload_storage().exists(job.file_name)
