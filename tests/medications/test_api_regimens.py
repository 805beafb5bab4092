"""Regimens through the API: create (catalog or free text), schedules and their defaults, interaction warnings,
changes, ending, and who may see what."""

import uuid

import pytest
from django.db import connection
from freezegun import freeze_time

from medications.models import DoseLog, Regimen
from tests.medications.conftest import URL, create_regimen, regimen_body


@pytest.mark.django_db
class TestCreate:
    def test_from_a_catalog_id_takes_its_name_and_form(self, client_a, user_a, catalog):
        med = catalog["metformin"]
        body = {k: v for k, v in regimen_body().items() if k not in ("name", "form")}
        r = client_a.post(URL, {**body, "medication": str(med.id), "dosage": 500}, format="json")
        assert r.status_code == 201, r.content
        data = r.json()
        assert data["medication"] == str(med.id) and data["name"] == "metformin" and data["form"] == "tablet"
        assert data["dosage"] == 500 and data["interaction_warnings"] == [] and data["prescribed_by"] is None
        stored = Regimen.objects.get(pk=data["id"])
        assert stored.user == user_a and stored.medication == med and stored.is_active

    def test_from_a_free_text_name(self, client_a, user_a):
        data = create_regimen(client_a, name="Grandma's tonic", dosage=5, dosage_unit="ml", form="liquid")
        stored = Regimen.objects.get(pk=data["id"])
        assert stored.medication is None and stored.name == "Grandma's tonic" and stored.dosage_unit == "ml"

    @pytest.mark.parametrize(
        ("frequency", "times"),
        [
            ("once_daily", ["08:00"]),
            ("twice_daily", ["08:00", "20:00"]),
            ("three_times_daily", ["08:00", "14:00", "20:00"]),
            ("four_times_daily", ["08:00", "12:00", "16:00", "20:00"]),
        ],
    )
    def test_omitted_times_take_the_frequencys_defaults(self, client_a, frequency, times):
        data = create_regimen(client_a, frequency=frequency)
        assert data["schedule_times"] == times
        assert Regimen.objects.get(pk=data["id"]).schedule_times == times

    def test_given_times_are_stored_sorted(self, client_a):
        data = create_regimen(client_a, frequency="twice_daily", schedule_times=["21:30", "07:15"])
        assert data["schedule_times"] == ["07:15", "21:30"]

    def test_every_n_hours_expands_an_anchor_around_the_clock(self, client_a):
        data = create_regimen(client_a, frequency="every_n_hours", interval_hours=8, schedule_times=["06:00"])
        assert data["schedule_times"] == ["06:00", "14:00", "22:00"] and data["interval_hours"] == 8

    def test_weekly_defaults_to_the_weekday_of_the_start_date(self, client_a):
        data = create_regimen(client_a, frequency="weekly", start_date="2025-03-05")  # a Wednesday
        assert data["days_of_week"] == [2] and data["schedule_times"] == ["08:00"]

    def test_as_needed_has_no_schedule(self, client_a):
        data = create_regimen(client_a, frequency="as_needed")
        assert data["schedule_times"] == [] and data["days_of_week"] == []

    def test_encrypts_instructions_at_rest(self, client_a):
        data = create_regimen(client_a, instructions="Take with food, not with grapefruit")
        key = Regimen._meta.pk.get_db_prep_value(uuid.UUID(data["id"]), connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT instructions FROM medications_regimen WHERE id = %s", [key])
            row = cursor.fetchone()
        assert row[0].startswith("fernet:") and "grapefruit" not in row[0]
        assert Regimen.objects.get(pk=data["id"]).instructions == "Take with food, not with grapefruit"

    def test_anonymous_gets_401(self, anon):
        r = anon.post(URL, regimen_body(), format="json")
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
class TestValidation:
    def _refused(self, client, field, **overrides):
        r = client.post(URL, regimen_body(**overrides), format="json")
        assert r.status_code == 400, r.content
        error = r.json()["error"]
        assert error["code"] == "validation_error" and field in error["fields"], error
        assert not Regimen.objects.exists()
        return error

    def test_time_count_must_fit_the_frequency(self, client_a):
        error = self._refused(client_a, "schedule_times", frequency="twice_daily", schedule_times=["08:00"])
        assert "2 time(s)" in error["fields"]["schedule_times"][0]

    def test_times_are_24_hour_hh_mm(self, client_a):
        self._refused(client_a, "schedule_times", schedule_times=["8am"])

    def test_every_n_hours_needs_an_interval(self, client_a):
        self._refused(client_a, "interval_hours", frequency="every_n_hours")

    def test_every_n_hours_interval_must_divide_the_day(self, client_a):
        self._refused(client_a, "interval_hours", frequency="every_n_hours", interval_hours=5)

    def test_every_n_hours_series_must_be_evenly_spaced(self, client_a):
        self._refused(
            client_a, "schedule_times", frequency="every_n_hours", interval_hours=12, schedule_times=["08:00", "19:00"]
        )

    def test_days_of_week_only_for_weekly(self, client_a):
        self._refused(client_a, "days_of_week", days_of_week=[0, 3])

    def test_as_needed_takes_no_times(self, client_a):
        self._refused(client_a, "schedule_times", frequency="as_needed", schedule_times=["08:00"])

    def test_needs_a_medication_or_a_name(self, client_a):
        self._refused(client_a, "medication", name="")

    def test_unknown_catalog_id(self, client_a):
        self._refused(client_a, "medication", medication="00000000-0000-0000-0000-000000000000")

    def test_end_date_not_before_start_date(self, client_a):
        self._refused(client_a, "end_date", start_date="2025-03-10", end_date="2025-03-09")

    def test_dosage_must_be_positive(self, client_a):
        self._refused(client_a, "dosage", dosage=0)

    def test_unknown_frequency(self, client_a):
        self._refused(client_a, "frequency", frequency="hourly")


@pytest.mark.django_db
class TestInteractionWarnings:
    def test_creating_one_warns_against_other_active_regimens(self, client_a, catalog):
        warfarin = create_regimen(client_a, medication=str(catalog["warfarin"].id), name="", dosage=5)
        data = create_regimen(client_a, name="Advil", dosage=400)
        [warning] = data["interaction_warnings"]
        assert warning["medications"] == ["Advil", "warfarin"] and warning["regimen"] == warfarin["id"]
        assert warning["severity"] == "major" and warning["source"].startswith("BNF")
        assert warning["matched_on"] == ["class: NSAID", "ingredient: warfarin"]

    def test_ended_regimens_do_not_warn(self, client_a, catalog):
        warfarin = create_regimen(client_a, name="Coumadin", dosage=5)
        assert client_a.delete(f"{URL}{warfarin['id']}/").status_code == 204
        assert create_regimen(client_a, name="ibuprofen", dosage=400)["interaction_warnings"] == []

    def test_changing_the_medication_answers_new_warnings(self, client_a, catalog):
        create_regimen(client_a, name="Zocor", dosage=40)
        other = create_regimen(client_a, name="Amoxil", dosage=500)
        assert other["interaction_warnings"] == []
        r = client_a.patch(f"{URL}{other['id']}/", {"medication": str(catalog["clarithromycin"].id)}, format="json")
        assert r.status_code == 200
        [warning] = r.json()["interaction_warnings"]
        assert warning["severity"] == "contraindicated" and warning["medications"] == ["clarithromycin", "Zocor"]

    def test_another_persons_regimens_never_warn(self, client_a, client_b, catalog):
        create_regimen(client_b, name="warfarin", dosage=5)
        assert create_regimen(client_a, name="naproxen", dosage=250)["interaction_warnings"] == []


@pytest.mark.django_db
class TestReadAndChange:
    def test_lists_only_my_regimens(self, client_a, client_b):
        mine = create_regimen(client_a)
        create_regimen(client_b)
        body = client_a.get(URL).json()
        assert body["count"] == 1 and body["results"][0]["id"] == mine["id"]

    def test_returns_404_for_another_persons_regimen(self, client_a, client_b):
        theirs = create_regimen(client_b)
        for r in (
            client_a.get(f"{URL}{theirs['id']}/"),
            client_a.patch(f"{URL}{theirs['id']}/", {"dosage": 20}, format="json"),
            client_a.delete(f"{URL}{theirs['id']}/"),
        ):
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert Regimen.objects.get(pk=theirs["id"]).is_active

    def test_patch_changes_the_dosage(self, client_a):
        data = create_regimen(client_a)
        r = client_a.patch(f"{URL}{data['id']}/", {"dosage": 20, "instructions": "At night"}, format="json")
        assert r.status_code == 200 and r.json()["dosage"] == 20
        stored = Regimen.objects.get(pk=data["id"])
        assert stored.dosage == 20 and stored.instructions == "At night"

    def test_patch_with_a_bad_schedule_is_refused_and_changes_nothing(self, client_a):
        data = create_regimen(client_a, frequency="twice_daily")
        r = client_a.patch(f"{URL}{data['id']}/", {"schedule_times": ["08:00"]}, format="json")
        assert r.status_code == 400 and "schedule_times" in r.json()["error"]["fields"]
        assert Regimen.objects.get(pk=data["id"]).schedule_times == ["08:00", "20:00"]

    def test_changing_the_frequency_takes_its_default_times(self, client_a):
        data = create_regimen(client_a, frequency="twice_daily")
        r = client_a.patch(f"{URL}{data['id']}/", {"frequency": "three_times_daily"}, format="json")
        assert r.json()["schedule_times"] == ["08:00", "14:00", "20:00"]

    def test_put_is_not_offered(self, client_a):
        data = create_regimen(client_a)
        r = client_a.put(f"{URL}{data['id']}/", regimen_body(), format="json")
        assert r.status_code == 405

    def test_list_query_count_is_fixed(self, client_a, catalog, django_assert_max_num_queries):
        for name in ("Zocor", "Advil", "metformin", "Lasix"):
            create_regimen(client_a, name=name)
        with django_assert_max_num_queries(6):
            assert client_a.get(URL).json()["count"] == 4


@pytest.mark.django_db
class TestEnd:
    def test_delete_ends_the_regimen_and_keeps_it(self, api, user_a, client_a):
        with freeze_time("2025-03-05 10:00:00"):
            client = api(user_a)
            data = create_regimen(client)
            r = client.delete(f"{URL}{data['id']}/")
        assert r.status_code == 204
        stored = Regimen.objects.get(pk=data["id"])
        assert not stored.is_active and stored.ended_at is not None and str(stored.end_date) == "2025-03-05"
        assert stored.next_reminder_at is None
        assert client_a.get(f"{URL}{data['id']}/").json()["is_active"] is False
        assert client_a.get(f"{URL}?is_active=false").json()["count"] == 1
        assert client_a.get(f"{URL}?is_active=true").json()["count"] == 0

    def test_deleting_twice_is_harmless(self, client_a):
        data = create_regimen(client_a)
        assert client_a.delete(f"{URL}{data['id']}/").status_code == 204
        assert client_a.delete(f"{URL}{data['id']}/").status_code == 204

    def test_an_ended_regimen_cannot_be_changed(self, client_a):
        data = create_regimen(client_a)
        client_a.delete(f"{URL}{data['id']}/")
        r = client_a.patch(f"{URL}{data['id']}/", {"dosage": 20}, format="json")
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"

    def test_no_dose_is_scheduled_after_it_ended(self, api, user_a):
        with freeze_time("2025-03-05 06:00:00"):
            data = create_regimen(api(user_a), frequency="twice_daily")
        with freeze_time("2025-03-05 12:00:00"):
            client = api(user_a)
            client.delete(f"{URL}{data['id']}/")
            doses = client.get(f"{URL}doses/?date=2025-03-05").json()["results"]
        assert [d["scheduled_for"] for d in doses] == ["2025-03-05T08:00:00+00:00"]
        assert not DoseLog.objects.exists()
