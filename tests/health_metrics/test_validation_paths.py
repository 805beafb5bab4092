"""`clean_reading` has two paths: a flat fast one for valid readings (ingestion runs it per reading) and a thorough
one that names every field at fault. Whatever the input, valid or not, they must agree: the same clean reading,
or the same refusal. Hypothesis generates the inputs, mostly near the boundaries where the two could differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health_metrics.validation import (
    CLOCK_SKEW,
    NOTES_MAX_LENGTH,
    ReadingInvalid,
    _clean_reading_thoroughly,
    clean_reading,
)
from jeghealth_backend.metric_catalog import CATALOG

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _numbers() -> st.SearchStrategy:
    bounds = sorted({b for spec in CATALOG.values() for low, high in spec.ranges.values() for b in (low, high)})
    near = st.sampled_from(bounds).flatmap(
        lambda b: st.sampled_from([b, b - 1, b + 1, b - 0.001, b + 0.001, b * 2.20462, (b - 32) * 5 / 9])
    )
    return st.one_of(
        near,
        st.integers(min_value=-10, max_value=1000),
        st.floats(allow_nan=True, allow_infinity=True),
        st.just(10**400),  # an int too large for a float
        st.booleans(),
        st.text(max_size=5),
        st.none(),
    )


def _units() -> st.SearchStrategy:
    spellings = sorted({s for spec in CATALOG.values() for u in spec.units for s in (u.name, *u.aliases)})
    known = st.sampled_from(spellings).flatmap(lambda s: st.sampled_from([s, s.upper(), f" {s} ", s.lower()]))
    return st.one_of(known, st.just(""), st.just("   "), st.text(max_size=6), st.integers(), st.none())


def _moments() -> st.SearchStrategy:
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9, minutes=30))])
    aware = st.datetimes(
        min_value=datetime(1969, 12, 1), max_value=datetime(2026, 6, 2), timezones=offsets
    ) | st.sampled_from([NOW + CLOCK_SKEW, NOW + CLOCK_SKEW + timedelta(seconds=1), datetime(1970, 1, 1, tzinfo=UTC)])
    as_text = aware.flatmap(
        lambda m: st.sampled_from(
            [m, m.isoformat(), m.astimezone(UTC).isoformat().replace("+00:00", "Z"), m.replace(tzinfo=None).isoformat()]
        )
    )
    return st.one_of(as_text, st.text(max_size=45), st.integers(), st.none())


HOSTILE = {
    "metric_type": st.one_of(st.sampled_from(sorted(CATALOG)), st.text(max_size=8), st.integers(), st.none()),
    "value": _numbers(),
    "systolic_value": _numbers(),
    "diastolic_value": _numbers(),
    "unit": _units(),
    "recorded_at": _moments(),
    "notes": st.one_of(st.none(), st.text(max_size=20), st.just("x" * (NOTES_MAX_LENGTH + 1)), st.integers()),
    "metadata": st.one_of(
        st.none(), st.just({}), st.dictionaries(st.text(max_size=3), st.integers(), max_size=3), st.text(max_size=3)
    ),
}


@st.composite
def near_valid(draw) -> dict:
    """A valid reading of a random type, in a random accepted unit, then maybe one field spoilt or dropped."""
    spec = CATALOG[draw(st.sampled_from(sorted(CATALOG)))]
    unit = draw(st.sampled_from(spec.units))
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)))
    raw = {
        "metric_type": spec.metric_type,
        "recorded_at": moment.isoformat(),
        "unit": draw(st.sampled_from([unit.name, *unit.aliases, unit.name.upper()])),
    }
    for field, (low, high) in spec.ranges.items():
        canonical = draw(st.floats(min_value=low, max_value=high) | st.sampled_from([low, high]))
        raw[field] = round(canonical / unit.factor - unit.shift, draw(st.integers(min_value=0, max_value=6)))
    if spec.is_blood_pressure and draw(st.booleans()):
        raw["systolic_value"], raw["diastolic_value"] = int(raw["systolic_value"]), int(raw["diastolic_value"])
    if draw(st.booleans()):
        raw["notes"] = draw(st.text(max_size=10))
    choice = draw(st.sampled_from(["keep", "spoil", "drop"]))
    field = draw(st.sampled_from(sorted(HOSTILE)))
    if choice == "spoil":
        raw[field] = draw(HOSTILE[field])
    elif choice == "drop":
        raw.pop(field, None)
    return raw


readings = st.one_of(near_valid(), st.fixed_dictionaries({}, optional=HOSTILE))


def outcome(clean, raw):
    try:
        return "stored", clean(raw, now=NOW)
    except ReadingInvalid as exc:
        return "refused", exc.fields


@settings(max_examples=3000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=readings)
def test_the_fast_and_the_thorough_validation_agree(raw):
    assert outcome(clean_reading, raw) == outcome(_clean_reading_thoroughly, raw)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(raw=st.one_of(st.lists(st.integers(), max_size=2), st.text(max_size=4), st.none(), st.integers()))
def test_anything_but_an_object_is_refused_by_name(raw):
    kind, fields = outcome(clean_reading, raw)
    assert (kind, fields) == ("refused", {"non_field_errors": ["Each reading must be a JSON object."]})


def test_an_integer_too_large_for_a_float_is_refused_not_a_crash():
    raw = {"metric_type": "muscle_mass", "value": 10**400, "unit": "lb", "recorded_at": "2026-01-01T00:00:00Z"}

    assert outcome(clean_reading, raw) == ("refused", {"value": ["A number is required."]})
