"""The Django admin for people and roles, and `createsuperuser --noinput` from the environment."""

import pytest
from django.core.management import call_command

from accounts.models import Role, User, UserProfile
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


class TestAdminPages:
    @pytest.mark.parametrize("path", ["/admin/accounts/user/", "/admin/accounts/role/", "/admin/accounts/user/add/"])
    def test_page_renders_for_a_superuser(self, admin_client, path):
        assert admin_client.get(path).status_code == 200

    def test_user_change_page_renders(self, admin_client, user_a):
        assert admin_client.get(f"/admin/accounts/user/{user_a.pk}/change/").status_code == 200

    def test_role_change_page_renders(self, admin_client):
        role = Role.objects.get(name="doctor")

        assert admin_client.get(f"/admin/accounts/role/{role.pk}/change/").status_code == 200

    def test_user_changelist_search_renders(self, admin_client, user_a):
        r = admin_client.get("/admin/accounts/user/", {"q": user_a.email})

        assert r.status_code == 200
        assert user_a.email in r.content.decode()

    def test_a_person_is_sent_to_the_login_page(self, client, user_a):
        client.force_login(user_a)

        r = client.get("/admin/accounts/user/")

        assert r.status_code == 302
        assert "/admin/login/" in r["Location"]

    def test_a_user_added_in_the_admin_has_a_profile_and_the_user_role(self, admin_client, api):
        r = admin_client.post(
            "/admin/accounts/user/add/",
            {
                "email": "added@example.org",
                "username": "added",
                "password1": PASSWORD,
                "password2": PASSWORD,
                "usable_password": "true",
                "profile-TOTAL_FORMS": "0",
                "profile-INITIAL_FORMS": "0",
                "user_roles-TOTAL_FORMS": "0",
                "user_roles-INITIAL_FORMS": "0",
            },
        )

        assert r.status_code == 302, r.content.decode()[:2000]
        added = User.objects.get(email="added@example.org")
        assert UserProfile.objects.filter(user=added).exists()
        assert api(added).get("/api/v1/auth/profile/").status_code == 200
        assert api(added).get("/api/v1/auth/current-user/").json()["roles"] == ["user"]


class TestCreateSuperuser:
    def test_noinput_from_the_environment_makes_an_admin(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.org")
        monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

        call_command("createsuperuser", interactive=False, verbosity=0)

        root = User.objects.get(email="root@example.org")
        assert root.is_superuser and root.is_staff
        assert root.check_password(PASSWORD)
        assert set(root.user_roles.values_list("role__name", flat=True)) == {"admin", "user"}

    def test_names_from_the_environment_are_stored(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.org")
        monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
        monkeypatch.setenv("DJANGO_SUPERUSER_FIRST_NAME", "Rosalind")
        monkeypatch.setenv("DJANGO_SUPERUSER_LAST_NAME", "Franklin")

        call_command("createsuperuser", interactive=False, verbosity=0)

        root = User.objects.get(email="root@example.org")
        assert (root.first_name, root.last_name) == ("Rosalind", "Franklin")

    def test_the_new_superuser_can_grant_roles_through_the_api(self, monkeypatch, anon, settings):
        # About createsuperuser, not MFA: with admins forced to enrol (the default), login/ would answer an
        # enrolment token here (tests/accounts/test_api_mfa_login.py covers that).
        settings.MFA_REQUIRED_ROLES = []
        monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.org")
        monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
        call_command("createsuperuser", interactive=False, verbosity=0)
        person = UserFactory()

        access = anon.post("/api/v1/auth/login/", {"email": "root@example.org", "password": PASSWORD}).json()
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {access['tokens']['access']}")
        r = anon.post(f"/api/v1/auth/users/{person.pk}/roles/", {"role": "doctor"})

        assert r.status_code == 200
