"""Helpers of the organization tests: a clinic with members, made through the API as a clinic admin would."""

from __future__ import annotations

from tests.conftest import client_for


def make_clinic(admin, *, name: str = "Riverside Clinic", members: tuple = ()) -> str:
    """A clinic created by ADMIN (its first clinic admin) holding MEMBERS, pairs of (user, role). Its id."""
    client = client_for(admin)
    answer = client.post("/api/v1/organizations/", {"name": name}, format="json")
    assert answer.status_code == 201, answer.json()
    org_id = answer.json()["id"]
    for user, role in members:
        added = client.post(
            f"/api/v1/organizations/{org_id}/members/", {"email": user.email, "role": role}, format="json"
        )
        assert added.status_code == 201, added.json()
    return org_id


def grant_clinic(patient, org_id: str, scopes: list[str]) -> str:
    """PATIENT grants the clinic SCOPES; the grant's id."""
    answer = client_for(patient).post(
        "/api/v1/auth/care-team/", {"organization": org_id, "scopes": scopes}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()["id"]
