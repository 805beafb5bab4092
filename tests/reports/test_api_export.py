"""`GET health-metrics/export/?format=csv|fhir`: every reading of the filters, streamed."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import AuditEvent, CareTeamGrant
from health_metrics.models import HealthMetric
from jeghealth_backend.metric_catalog import CATALOG, METRIC_TYPES
from reports.interop import fhir
from tests.health_metrics.factories import HealthMetricFactory
from tests.iot_devices.factories import pair_device

from .factories import add_history

pytestmark = pytest.mark.django_db

URL = "/api/v1/health-metrics/export/"


def _content(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_content(response).decode())))


class TestExportRequest:
    def test_it_needs_a_token(self, anon):
        response = anon.get(URL, {"format": "csv"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    @pytest.mark.parametrize("value", ["xml", "", None])
    def test_an_unknown_or_missing_format_answers_400(self, client_a, value):
        response = client_a.get(URL, {} if value is None else {"format": value})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["fields"] == {"format": ["Choose csv or fhir."]}

    def test_an_invalid_filter_answers_400(self, client_a):
        response = client_a.get(URL, {"format": "csv", "metric_type": "mood"})
        assert response.status_code == 400
        assert "metric_type" in response.json()["error"]["fields"]


class TestCsvExport:
    def test_it_streams_my_readings_oldest_first(self, client_a, user_a, user_b):
        add_history(user_a, days=3, metric_types=("heart_rate", "blood_pressure"))
        add_history(user_b, days=3, metric_types=("heart_rate",))
        response = client_a.get(URL, {"format": "csv"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="health-metrics-')
        rows = _csv_rows(response)
        assert len(rows) == 6
        assert {r["id"] for r in rows} == {
            str(pk) for pk in HealthMetric.objects.filter(user=user_a).values_list("pk", flat=True)
        }
        assert [r["recorded_at"] for r in rows] == sorted(r["recorded_at"] for r in rows)
        pressure = next(r for r in rows if r["metric_type"] == "blood_pressure")
        assert (pressure["value"], pressure["systolic_value"], pressure["unit"]) == ("", "118.0", "mmHg")

    def test_it_applies_the_list_filters_in_my_timezone(self, client_a, user_a):
        user_a.profile.timezone = "America/New_York"
        user_a.profile.save(update_fields=["timezone"])
        inside = HealthMetricFactory(user=user_a, recorded_at=datetime(2025, 7, 2, 3, 30, tzinfo=UTC))  # 1 July, 23:30
        HealthMetricFactory(user=user_a, recorded_at=datetime(2025, 7, 2, 4, 30, tzinfo=UTC))  # 2 July, 00:30
        HealthMetricFactory(
            user=user_a, metric_type="steps", value=100, recorded_at=datetime(2025, 7, 1, 15, tzinfo=UTC)
        )
        response = client_a.get(
            URL, {"format": "csv", "metric_type": "heart_rate", "start_date": "2025-07-01", "end_date": "2025-07-01"}
        )
        assert [r["id"] for r in _csv_rows(response)] == [str(inside.pk)]

    def test_free_text_that_a_spreadsheet_would_run_is_defused(self, client_a, user_a):
        HealthMetricFactory(user=user_a, notes='=HYPERLINK("http://evil.example","x")')
        (row,) = _csv_rows(client_a.get(URL, {"format": "csv"}))
        assert row["notes"].startswith("'=HYPERLINK")

    def test_a_large_history_streams_in_flat_memory(self, client_a, user_a):
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        add_history(user_a, days=20, per_day=1000, metric_types=("heart_rate",), end=yesterday)
        assert HealthMetric.objects.filter(user=user_a).count() == 20_000
        response = client_a.get(URL, {"format": "csv"})
        tracemalloc.start()
        try:
            total = rows = 0
            for block in response.streaming_content:
                total += len(block)
                rows += block.count(b"\n")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert rows == 20_001
        # Holding the rows would take several times the document's size (about 1 KiB a row as Python objects);
        # streaming holds one chunk of rows and one block of text at a time.
        assert peak < total / 2, (peak, total)


class TestCareTeamExport:
    def test_a_doctor_with_a_grant_exports_the_patients_readings_and_it_is_audited(self, api, doctor, user_a):
        add_history(user_a, days=2, metric_types=("weight",))
        CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["health_metrics"])
        response = api(doctor).get(URL, {"format": "csv", "patient": str(user_a.pk)})
        assert response.status_code == 200
        assert len(_csv_rows(response)) == 2
        event = AuditEvent.objects.get(patient=user_a)
        assert (event.actor, event.action, event.resource_type) == (doctor, "export", "health_metric")

    def test_a_doctor_without_the_scope_gets_404(self, api, doctor, user_a):
        CareTeamGrant.objects.create(patient=user_a, grantee=doctor, scopes=["appointments"])
        response = api(doctor).get(URL, {"format": "fhir", "patient": str(user_a.pk)})
        assert response.status_code == 404
        assert not AuditEvent.objects.exists()

    def test_another_person_cannot_use_patient(self, client_b, user_a):
        assert client_b.get(URL, {"format": "csv", "patient": str(user_a.pk)}).status_code == 404

    def test_exporting_ones_own_data_is_not_audited(self, client_a, user_a):
        assert client_a.get(URL, {"format": "csv"}).status_code == 200
        assert not AuditEvent.objects.exists()


@pytest.fixture
def fhir_bundle(client_a, user_a):
    watch = pair_device(user_a, device_type="smartwatch", manufacturer="Acme", model="W1")
    add_history(user_a, days=2, anomaly_days=(1,))
    add_history(user_a, days=1, metric_types=("heart_rate",), device=watch.device, end=datetime.now(UTC).date())
    response = client_a.get(URL, {"format": "fhir"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    return json.loads(_content(response)), user_a, watch.device


class TestFhirExport:
    def test_it_is_a_collection_bundle_with_the_patient_the_device_and_one_observation_per_reading(self, fhir_bundle):
        bundle, user, device = fhir_bundle
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "collection"
        kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
        assert kinds[:2] == ["Patient", "Device"]
        assert kinds.count("Observation") == HealthMetric.objects.filter(user=user).count()
        for entry in bundle["entry"]:
            assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        patient = bundle["entry"][0]["resource"]
        assert patient["id"] == str(user.pk)
        assert patient["name"][0]["family"] == user.last_name
        assert bundle["entry"][1]["resource"]["serialNumber"] == device.serial_number

    @pytest.mark.parametrize("metric_type", METRIC_TYPES)
    def test_every_metric_type_has_its_loinc_code_and_ucum_unit(self, fhir_bundle, metric_type):
        bundle, user, _ = fhir_bundle
        spec = CATALOG[metric_type]
        observations = [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"
            and e["resource"]["code"]["coding"][0]["code"] == spec.loinc
        ]
        assert observations, metric_type
        category, profile = fhir.FHIR_PROFILES[metric_type]
        for observation in observations:
            assert observation["status"] == "final"
            assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
            assert observation["category"][0]["coding"][0] == {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": category,
                "display": observation["category"][0]["text"],
            }
            assert observation["subject"]["reference"] == f"urn:uuid:{user.pk}"
            assert datetime.fromisoformat(observation["effectiveDateTime"]).tzinfo is not None
            if profile:
                assert observation["meta"]["profile"] == [profile]
            quantities = (
                [c["valueQuantity"] for c in observation["component"]]
                if spec.is_blood_pressure
                else [observation["valueQuantity"]]
            )
            for quantity in quantities:
                assert quantity["system"] == "http://unitsofmeasure.org"
                assert quantity["code"] == spec.ucum
                assert isinstance(quantity["value"], (int, float))

    def test_vital_signs_follow_the_vital_signs_category(self, fhir_bundle):
        bundle, _, _ = fhir_bundle
        vital = {"85354-9", "8867-4", "29463-7", "8310-5", "2708-6", "39156-5"}
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Observation" and resource["code"]["coding"][0]["code"] in vital:
                assert resource["category"][0]["coding"][0]["code"] == "vital-signs"

    def test_blood_pressure_is_one_observation_with_two_components(self, fhir_bundle):
        bundle, user, _ = fhir_bundle
        pressures = [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "85354-9"
        ]
        assert len(pressures) == HealthMetric.objects.filter(user=user, metric_type="blood_pressure").count()
        for observation in pressures:
            assert "valueQuantity" not in observation
            codes = [c["code"]["coding"][0]["code"] for c in observation["component"]]
            assert codes == ["8480-6", "8462-4"]
        flagged = [o for o in pressures if "interpretation" in o]
        assert len(flagged) == 1
        assert flagged[0]["component"][0]["valueQuantity"]["value"] == 186.0
        assert flagged[0]["interpretation"][0]["coding"][0]["code"] == "A"

    def test_a_device_reading_refers_to_its_device_entry(self, fhir_bundle):
        bundle, _, device = fhir_bundle
        urls = {entry["fullUrl"] for entry in bundle["entry"]}
        from_device = [
            e["resource"]
            for e in bundle["entry"]
            if "device" in e["resource"] and e["resource"]["resourceType"] == "Observation"
        ]
        assert from_device
        for observation in from_device:
            assert observation["device"]["reference"] == f"urn:uuid:{device.pk}"
            assert observation["device"]["reference"] in urls

    def test_it_holds_no_empty_values_which_fhir_forbids(self, client_a, user_a):
        user_a.first_name = ""
        user_a.save(update_fields=["first_name"])
        add_history(user_a, days=1)

        def empties(node, path="$"):
            if node in ("", [], {}, None):
                yield path
            elif isinstance(node, dict):
                for key, value in node.items():
                    yield from empties(value, f"{path}.{key}")
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    yield from empties(value, f"{path}[{index}]")

        bundle = json.loads(_content(client_a.get(URL, {"format": "fhir"})))
        assert list(empties(bundle)) == []
        assert bundle["entry"][0]["resource"]["name"] == [{"use": "official", "family": user_a.last_name}]

    def test_the_filters_apply(self, client_a, user_a):
        add_history(user_a, days=2, metric_types=("steps", "weight"))
        bundle = json.loads(_content(client_a.get(URL, {"format": "fhir", "metric_type": "weight"})))
        observations = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
        assert len(observations) == 2
        assert {e["resource"]["code"]["coding"][0]["code"] for e in observations} == {"29463-7"}

    def test_the_queries_do_not_grow_with_the_history(self, client_a, user_a, django_assert_max_num_queries):
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        add_history(user_a, days=10, per_day=300, metric_types=("heart_rate",), end=yesterday)
        with django_assert_max_num_queries(8):
            response = client_a.get(URL, {"format": "fhir"})
            assert len(json.loads(_content(response))["entry"]) == 3001
