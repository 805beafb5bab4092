"""The catalog fixture (counts, sources, consistency) and the read-only catalog endpoints."""

import re

import pytest
from django.core.management import call_command

from medications.choices import DoseForm, InteractionSide, Severity
from medications.models import DrugInteraction, Medication, MedicationCategory, side_key
from tests.medications.conftest import CATALOG_FIXTURES, URL


@pytest.mark.django_db
class TestCatalogFixture:
    def test_it_loads_with_loaddata_and_meets_the_counts(self):
        call_command("loaddata", *CATALOG_FIXTURES, verbosity=0)
        assert Medication.objects.count() >= 150
        assert MedicationCategory.objects.count() >= 12
        assert DrugInteraction.objects.count() >= 60
        assert all(c.medications.exists() for c in MedicationCategory.objects.all())

    def test_loading_it_twice_changes_nothing(self):
        call_command("loaddata", *CATALOG_FIXTURES, verbosity=0)
        before = (Medication.objects.count(), DrugInteraction.objects.count())
        call_command("loaddata", *CATALOG_FIXTURES, verbosity=0)
        assert (Medication.objects.count(), DrugInteraction.objects.count()) == before

    def test_every_interaction_has_a_severity_a_description_and_a_source(self, catalog):
        for row in DrugInteraction.objects.all():
            assert row.severity in Severity.values
            assert row.description.strip() and row.source.strip(), row
            assert not row.source_url or row.source_url.startswith("https://"), row

    def test_every_side_of_every_interaction_matches_something_in_the_catalog(self, catalog):
        classes = {c.casefold() for m in catalog.values() for c in m.classes}
        ingredients = {i.casefold() for m in catalog.values() for i in m.ingredients}
        for row in DrugInteraction.objects.all():
            for kind, value in ((row.a_kind, row.a_value), (row.b_kind, row.b_value)):
                pool = classes if kind == InteractionSide.CLASS else ingredients
                assert value.casefold() in pool, (kind, value)

    def test_interaction_sides_are_stored_in_canonical_order(self, catalog):
        for row in DrugInteraction.objects.all():
            assert side_key(row.a_kind, row.a_value) <= side_key(row.b_kind, row.b_value), row

    def test_entries_have_atc_codes_forms_strengths_and_a_class(self, catalog):
        for med in catalog.values():
            assert re.fullmatch(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", med.atc_code), med
            assert med.forms and set(med.forms) <= set(DoseForm.values), med
            assert med.strengths and med.pharmacological_class and med.ingredients, med

    def test_no_name_points_at_two_entries(self, catalog):
        names = [n.casefold() for m in catalog.values() for n in m.names]
        assert len(names) == len(set(names))


@pytest.mark.django_db
class TestCategories:
    def test_lists_categories_with_their_counts(self, client_a, catalog):
        r = client_a.get(f"{URL}categories/?limit=200")
        assert r.status_code == 200
        body = r.json()
        assert body["count"] == MedicationCategory.objects.count()
        cardio = next(c for c in body["results"] if c["slug"] == "cardiovascular")
        assert set(cardio) == {"id", "slug", "name", "description", "medication_count"}
        assert cardio["medication_count"] == Medication.objects.filter(category__slug="cardiovascular").count()

    def test_list_query_count_is_fixed(self, client_a, catalog, django_assert_max_num_queries):
        with django_assert_max_num_queries(4):
            assert client_a.get(f"{URL}categories/").status_code == 200

    def test_anonymous_gets_401(self, anon):
        r = anon.get(f"{URL}categories/")
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
class TestCatalog:
    def test_search_matches_a_brand_name_in_any_case(self, client_a, catalog):
        r = client_a.get(f"{URL}catalog/?search=zOcOr")
        assert [m["generic_name"] for m in r.json()["results"]] == ["simvastatin"]

    def test_search_matches_a_generic_name_part_and_a_synonym(self, client_a, catalog):
        by_part = client_a.get(f"{URL}catalog/?search=statin").json()["results"]
        assert {"simvastatin", "atorvastatin", "rosuvastatin"} <= {m["generic_name"] for m in by_part}
        by_synonym = client_a.get(f"{URL}catalog/?search=Acetylsalicylic").json()["results"]
        assert [m["generic_name"] for m in by_synonym] == ["aspirin"]

    def test_an_entry_answers_its_names_classes_and_category(self, client_a, catalog):
        med = catalog["clarithromycin"]
        r = client_a.get(f"{URL}catalog/{med.id}/")
        assert r.status_code == 200
        body = r.json()
        assert body["brand_names"] == ["Biaxin", "Klacid"] and body["atc_code"] == "J01FA09"
        assert body["pharmacological_class"] == "macrolide"
        assert "strong CYP3A4 inhibitor" in body["additional_classes"]
        assert body["category"]["slug"] == "antibacterials"

    def test_is_paginated_with_a_ceiling_of_200(self, client_a, catalog):
        body = client_a.get(f"{URL}catalog/?limit=1000").json()
        assert body["count"] == len(catalog) and len(body["results"]) == 200 and body["next"]

    def test_filters_by_category(self, client_a, catalog):
        category = MedicationCategory.objects.get(slug="lipid-lowering")
        results = client_a.get(f"{URL}catalog/?category={category.id}&limit=200").json()["results"]
        assert results and all(m["category"]["id"] == str(category.id) for m in results)

    def test_unknown_entry_is_404_in_the_envelope(self, client_a, catalog):
        r = client_a.get(f"{URL}catalog/00000000-0000-0000-0000-000000000000/")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    def test_a_doctor_reads_it_too(self, api, doctor, catalog):
        assert api(doctor).get(f"{URL}catalog/?search=warfarin").json()["count"] == 1

    def test_is_read_only(self, client_a, catalog):
        r = client_a.post(f"{URL}catalog/", {"generic_name": "x"}, format="json")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"

    def test_list_query_count_is_fixed(self, client_a, catalog, django_assert_max_num_queries):
        with django_assert_max_num_queries(4):
            assert client_a.get(f"{URL}catalog/?limit=200").status_code == 200
