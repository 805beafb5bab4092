"""`clean_reading`, the one validation of a reading (manual entry, bulk entry and IoT ingestion), on plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from health_metrics.exceptions import ReadingInvalid
from health_metrics.validation import CleanReading, clean_manual_entry, clean_reading
from jeghealth_backend.metric_catalog import CATALOG

NOW = datetime(2025, 7, 24, 12, 0, tzinfo=UTC)


def reading(**fields):
    return {"metric_type": "heart_rate", "value": 72, "recorded_at": "2025-07-24T11:00:00Z", **fields}


def refusal(raw) -> dict:
    with pytest.raises(ReadingInvalid) as caught:
        clean_reading(raw, now=NOW)
    return caught.value.fields


class TestAccepted:
    def test_it_returns_a_frozen_reading_in_utc(self):
        clean = clean_reading(reading(recorded_at="2025-07-24T13:00:00+02:00"), now=NOW)
        assert isinstance(clean, CleanReading)
        assert clean.recorded_at == datetime(2025, 7, 24, 11, 0, tzinfo=UTC)
        assert clean.recorded_at.tzinfo is UTC
        with pytest.raises(AttributeError):
            clean.value = 1

    def test_it_accepts_an_aware_datetime(self):
        moment = datetime(2025, 7, 24, 8, 0, tzinfo=timezone(timedelta(hours=-4)))
        assert clean_reading(reading(recorded_at=moment), now=NOW).recorded_at == datetime(2025, 7, 24, 12, tzinfo=UTC)

    def test_it_defaults_to_the_canonical_unit(self):
        clean = clean_reading(reading(), now=NOW)
        assert (clean.value, clean.unit, clean.entered_value, clean.entered_unit) == (72.0, "bpm", 72.0, "bpm")

    def test_it_matches_units_case_insensitively_after_trimming(self):
        clean = clean_reading(reading(metric_type="weight", value=154, unit="  LBS "), now=NOW)
        assert clean.value == pytest.approx(69.853225)
        assert (clean.unit, clean.entered_value, clean.entered_unit) == ("kg", 154.0, "lb")

    def test_it_converts_fahrenheit(self):
        clean = clean_reading(reading(metric_type="temperature", value=98.6, unit="°F"), now=NOW)
        assert clean.value == pytest.approx(37.0)

    def test_it_keeps_blood_pressure_as_two_values(self):
        clean = clean_reading(
            {"metric_type": "blood_pressure", "systolic_value": 120, "diastolic_value": 80, "recorded_at": NOW},
            now=NOW,
        )
        assert (clean.value, clean.systolic_value, clean.diastolic_value, clean.unit) == (None, 120.0, 80.0, "mmHg")

    def test_it_allows_five_minutes_of_clock_skew(self):
        clean_reading(reading(recorded_at=(NOW + timedelta(minutes=5)).isoformat()), now=NOW)

    def test_it_accepts_bounded_metadata(self):
        metadata = {"source_app": "jeg", "context": {"posture": "sitting", "arm": ["left"]}}
        assert clean_reading(reading(metadata=metadata), now=NOW).metadata == metadata

    def test_it_ignores_unknown_keys(self):
        assert clean_reading(reading(colour="blue"), now=NOW).value == 72.0


class TestRefused:
    def test_it_refuses_a_non_object(self):
        with pytest.raises(ReadingInvalid) as caught:
            clean_reading([1, 2], now=NOW)
        assert "non_field_errors" in caught.value.fields

    @pytest.mark.parametrize("metric_type", [None, "mood", 7, ""])
    def test_it_refuses_an_unknown_type(self, metric_type):
        assert "metric_type" in refusal(reading(metric_type=metric_type))

    @pytest.mark.parametrize("value", ["72", True, None, [72], {"v": 72}, float("nan"), float("inf"), 10**400])
    def test_it_refuses_a_value_that_is_not_a_finite_number(self, value):
        assert "value" in refusal(reading(value=value))

    @pytest.mark.parametrize(("metric_type", "field"), [(t, f) for t, s in CATALOG.items() for f in s.ranges])
    def test_it_refuses_values_outside_the_plausible_range(self, metric_type, field):
        spec = CATALOG[metric_type]
        low, high = spec.ranges[field]
        for outside in (low - 0.01, high + 0.01):
            raw = {"metric_type": metric_type, "recorded_at": NOW, "unit": spec.unit}
            if spec.is_blood_pressure:
                raw.update(systolic_value=150, diastolic_value=90)
            else:
                raw["value"] = (low + high) / 2
            raw[field] = outside
            assert field in refusal(raw)

    def test_it_refuses_a_converted_value_outside_the_range(self):
        # 700 lb is 317.5 kg: fine. 1500 lb is 680 kg: beyond 650.
        assert "value" in refusal(reading(metric_type="weight", value=1500, unit="lb"))

    def test_it_refuses_value_on_blood_pressure(self):
        raw = {"metric_type": "blood_pressure", "value": 120, "recorded_at": NOW}
        fields = refusal(raw)
        assert set(fields) == {"value", "systolic_value", "diastolic_value"}

    def test_it_refuses_systolic_on_a_single_value_type(self):
        assert "systolic_value" in refusal(reading(systolic_value=120))

    def test_it_refuses_systolic_not_above_diastolic(self):
        raw = {"metric_type": "blood_pressure", "systolic_value": 80, "diastolic_value": 80, "recorded_at": NOW}
        assert refusal(raw) == {"systolic_value": ["Must be above the diastolic value."]}

    @pytest.mark.parametrize("unit", ["stone", "mmHg", 5, ["kg"]])
    def test_it_refuses_a_unit_of_another_type_or_shape(self, unit):
        assert "unit" in refusal(reading(metric_type="weight", value=70, unit=unit))

    @pytest.mark.parametrize(
        "recorded_at",
        ["2025-07-24T12:00:00", "2025-07-24", "yesterday", "", 1721822400, None, "2025-13-01T00:00:00Z"],
    )
    def test_it_refuses_a_time_without_offset_or_malformed(self, recorded_at):
        assert "recorded_at" in refusal(reading(recorded_at=recorded_at))

    def test_it_refuses_a_time_in_the_future_beyond_the_skew(self):
        later = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
        assert refusal(reading(recorded_at=later)) == {"recorded_at": ["Cannot be in the future."]}

    def test_it_refuses_a_time_before_1970(self):
        assert "recorded_at" in refusal(reading(recorded_at="1969-12-31T23:59:59Z"))

    @pytest.mark.parametrize(
        "metadata",
        [
            [1, 2],
            "note",
            {f"k{i}": i for i in range(51)},
            {"a": {"b": {"c": {"d": 1}}}},
            {"blob": "x" * 5000},
        ],
        ids=["list", "string", "51-keys", "4-levels", "over-4KiB"],
    )
    def test_it_refuses_metadata_that_is_not_a_bounded_object(self, metadata):
        assert "metadata" in refusal(reading(metadata=metadata))

    @pytest.mark.parametrize("notes", [5, "x" * 2001])
    def test_it_refuses_notes_that_are_not_short_text(self, notes):
        assert "notes" in refusal(reading(notes=notes))

    def test_it_names_every_field_at_fault(self):
        fields = refusal({"metric_type": "weight", "value": "heavy", "unit": "stone", "recorded_at": "soon"})
        assert set(fields) == {"value", "unit", "recorded_at"}


class TestManualEntry:
    def test_it_reads_the_offline_sync_id_and_the_entry_flag(self):
        entry = clean_manual_entry(
            reading(client_record_id="6f1f7d59-95a1-4c55-9a53-5f3c7c1c1f00", is_manual_entry=False), now=NOW
        )
        assert str(entry.client_record_id) == "6f1f7d59-95a1-4c55-9a53-5f3c7c1c1f00"
        assert entry.is_manual_entry is False

    @pytest.mark.parametrize(("field", "value"), [("client_record_id", "not-a-uuid"), ("is_manual_entry", "yes")])
    def test_it_refuses_malformed_sync_fields(self, field, value):
        with pytest.raises(ReadingInvalid) as caught:
            clean_manual_entry(reading(**{field: value}), now=NOW)
        assert field in caught.value.fields

    def test_it_reports_sync_and_reading_errors_together(self):
        with pytest.raises(ReadingInvalid) as caught:
            clean_manual_entry(reading(value=None, client_record_id=5), now=NOW)
        assert set(caught.value.fields) == {"value", "client_record_id"}
