"""`POST interactions/check/`: matching by class, by ingredient, by brand name and by catalog id."""

import pytest

from tests.medications.conftest import URL

CHECK = f"{URL}interactions/check/"


def check(client, *medications):
    r = client.post(CHECK, {"medications": list(medications)}, format="json")
    assert r.status_code == 200, r.content
    return r.json()


@pytest.mark.django_db
class TestMatching:
    def test_by_class(self, client_a, catalog):
        [found] = check(client_a, "warfarin", "ibuprofen")["interactions"]
        assert found["medications"] == ["warfarin", "ibuprofen"] and found["severity"] == "major"
        assert found["matched_on"] == ["ingredient: warfarin", "class: NSAID"]
        assert found["source"] and found["description"]

    def test_by_an_ingredient_of_a_combination(self, client_a, catalog):
        [found] = check(client_a, "methotrexate", "Bactrim")["interactions"]
        assert found["severity"] == "major"
        assert found["matched_on"] == ["ingredient: methotrexate", "ingredient: trimethoprim"]
        assert "BNF" in found["source"]

    def test_by_brand_names_in_any_case(self, client_a, catalog):
        [found] = check(client_a, "ZOCOR", "biaxin")["interactions"]
        assert found["medications"] == ["ZOCOR", "biaxin"] and found["severity"] == "contraindicated"
        assert found["matched_on"] == ["ingredient: simvastatin", "class: strong CYP3A4 inhibitor"]
        assert found["source"].startswith("FDA label: Zocor")

    def test_by_catalog_id(self, client_a, catalog):
        ids = [str(catalog["sildenafil"].id), str(catalog["isosorbide mononitrate"].id)]
        [found] = check(client_a, *ids)["interactions"]
        assert found["medications"] == ["sildenafil", "isosorbide mononitrate"]
        assert found["severity"] == "contraindicated"
        assert found["matched_on"] == ["class: PDE5 inhibitor", "class: nitrate"]

    @pytest.mark.parametrize(
        ("a", "b", "severity"),
        [
            ("Prozac", "Nardil", "contraindicated"),
            ("Zestril", "Aldactone", "major"),
            ("lithium", "hydrochlorothiazide", "major"),
            ("Plavix", "Losec", "moderate"),
            ("Cipro", "Zanaflex", "contraindicated"),
            ("levothyroxine", "Tums", "moderate"),
        ],
    )
    def test_well_known_pairs(self, client_a, catalog, a, b, severity):
        [found] = check(client_a, a, b)["interactions"]
        assert found["severity"] == severity

    def test_the_most_specific_of_equally_severe_rows_wins(self, client_a, catalog):
        # warfarin + aspirin also fits "anticoagulant + NSAID" and "anticoagulant + antiplatelet".
        [found] = check(client_a, "warfarin", "aspirin")["interactions"]
        assert found["matched_on"] == ["ingredient: warfarin", "class: NSAID"]

    def test_the_most_severe_row_wins(self, client_a, catalog):
        # simvastatin + clarithromycin fits "statin (CYP3A4) + strong CYP3A4 inhibitor" (major) too.
        [found] = check(client_a, "simvastatin", "clarithromycin")["interactions"]
        assert found["severity"] == "contraindicated"

    def test_names_outside_the_catalog_are_matched_as_ingredients(self, client_a, catalog):
        body = check(client_a, "Sacubitril", "lisinopril")
        assert body["unmatched"] == ["Sacubitril"]
        assert [f["severity"] for f in body["interactions"]] == ["contraindicated"]

    def test_several_medications_give_every_interacting_pair_most_severe_first(self, client_a, catalog):
        body = check(client_a, "Coumadin", "Advil", "Zocor", "Biaxin", "amoxicillin")
        pairs = [(f["medications"], f["severity"]) for f in body["interactions"]]
        assert pairs[0] == (["Zocor", "Biaxin"], "contraindicated")
        assert (["Coumadin", "Advil"], "major") in pairs and (["Coumadin", "Biaxin"], "moderate") in pairs
        assert not any("amoxicillin" in p for p, _ in pairs)

    def test_no_interaction(self, client_a, catalog):
        assert check(client_a, "amoxicillin", "paracetamol") == {"interactions": [], "unmatched": []}

    def test_one_medication_under_two_names_does_not_interact_with_itself(self, client_a, catalog):
        assert check(client_a, "Zocor", "simvastatin")["interactions"] == []


@pytest.mark.django_db
class TestRequests:
    def test_an_unknown_id_is_a_validation_error(self, client_a, catalog):
        r = client_a.post(CHECK, {"medications": ["warfarin", "00000000-0000-0000-0000-000000000000"]}, format="json")
        assert r.status_code == 400
        assert r.json()["error"]["fields"] == {"medications": {"1": ["No catalog medication has this id."]}}

    def test_needs_two_medications(self, client_a):
        r = client_a.post(CHECK, {"medications": ["warfarin"]}, format="json")
        assert r.status_code == 400 and "medications" in r.json()["error"]["fields"]

    def test_anonymous_gets_401(self, anon):
        assert anon.post(CHECK, {"medications": ["a", "b"]}, format="json").status_code == 401

    def test_the_table_is_listed_with_sources(self, client_a, catalog, django_assert_max_num_queries):
        with django_assert_max_num_queries(4):
            body = client_a.get(f"{URL}interactions/?limit=200").json()
        assert body["count"] >= 60 and all(row["source"] for row in body["results"])
