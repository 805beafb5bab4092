"""The admin reads well: proper names, short ids in lists, a person's page links to their data, time zones are
picked from a list, and the lockout records of django-axes cannot be changed there."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, UserProfile
from appointments.models import ProviderProfile
from medications.models import DoseLog
from medications.services import regimen_create
from tests.appointments.factories import AppointmentFactory, ProviderProfileFactory
from tests.health_metrics.factories import HealthMetricFactory
from tests.iot_devices.factories import pair_device

PROJECT_APPS = ["accounts", "health_metrics", "iot_devices", "notifications", "appointments", "medications", "reports"]


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def project_models():
    return [model for label in PROJECT_APPS for model in apps.get_app_config(label).get_models()]


class TestNames:
    @pytest.mark.parametrize("model", project_models(), ids=lambda m: m._meta.label)
    def test_no_name_is_a_mangled_class_name_or_a_naive_plural(self, model):
        singular, plural = str(model._meta.verbose_name), str(model._meta.verbose_name_plural)

        assert not re.search(r"(^| )[a-z]( |$)", singular), singular  # "io t device" from IoTDevice
        assert not re.search(r"([^aeiou]ys|chs|shs|ss|xs|zs)$", plural), plural  # "batchs", "summarys"

    @pytest.mark.django_db
    def test_the_index_says_iot_devices_and_device_data_batches(self, staff):
        page = staff.get("/admin/").content.decode()

        assert "IoT devices" in page and "Device data batches" in page
        assert "Io t" not in page and "batchs" not in page


@pytest.mark.django_db
class TestShortIds:
    def test_no_list_shows_a_whole_uuid_column(self):
        whole = [
            f"{model._meta.label}.{column}"
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in PROJECT_APPS
            for column in model_admin.list_display
            if isinstance(column, str) and column in ("id", "device_batch_id")
        ]
        assert whole == []

    def test_a_list_shows_the_first_8_characters_linked_to_the_row(self, staff, user_a):
        body = {"name": "Lisinopril", "dosage": 10, "dosage_unit": "mg", "form": "tablet", "frequency": "once_daily"}
        regimen = regimen_create(user=user_a, data={**body, "start_date": timezone.now().date()}).regimen
        dose = DoseLog.objects.create(regimen=regimen, user=user_a, scheduled_for=timezone.now(), status="skipped")

        page = staff.get("/admin/medications/doselog/").content.decode()

        assert f'href="/admin/medications/doselog/{dose.pk}/change/">{str(dose.pk)[:8]}</a>' in page
        assert f">{str(regimen.pk)[:8]}<" in page and f"Regimen {regimen.pk}" not in page

    def test_a_short_id_finds_its_row(self, staff, user_a):
        reading, other = HealthMetricFactory(user=user_a), HealthMetricFactory(user=user_a)

        page = staff.get("/admin/health_metrics/healthmetric/", {"q": str(reading.pk)[:8]}).content.decode()

        assert f"/{reading.pk}/change/" in page and f"/{other.pk}/change/" not in page


@pytest.mark.django_db
class TestAPersonsData:
    def test_the_user_page_links_to_their_readings_devices_and_appointments(self, staff, user_a):
        page = staff.get(f"/admin/accounts/user/{user_a.pk}/change/").content.decode()

        for path, field in (
            ("health_metrics/healthmetric", "user"),
            ("iot_devices/iotdevice", "owner"),
            ("appointments/appointment", "patient"),
            ("appointments/appointment", "provider"),
            ("medications/regimen", "user"),
        ):
            assert f'href="/admin/{path}/?{field}__exact={user_a.pk}"' in page, path

    @pytest.mark.parametrize(
        ("path", "field", "make"),
        [
            ("health_metrics/healthmetric", "user", lambda person: HealthMetricFactory(user=person)),
            ("iot_devices/iotdevice", "owner", lambda person: pair_device(person).device),
            (
                "appointments/appointment",
                "patient",
                lambda person: AppointmentFactory(patient=person, start_time=timezone.now() + timedelta(days=1)),
            ),
        ],
    )
    def test_each_link_lists_only_that_persons_rows(self, staff, admin_user, user_a, user_b, path, field, make):
        mine, theirs = make(user_a), make(user_b)

        r = staff.get(f"/admin/{path}/", {f"{field}__exact": str(user_a.pk)})

        assert r.status_code == 200
        assert f"/{mine.pk}/change/" in r.content.decode() and f"/{theirs.pk}/change/" not in r.content.decode()
        assert list(AuditEvent.objects.filter(actor=admin_user).values_list("patient_id", flat=True)) == [user_a.pk]


@pytest.mark.django_db
class TestTimezones:
    def test_the_profile_timezone_is_a_choice(self, staff, user_a):
        page = staff.get(f"/admin/accounts/user/{user_a.pk}/change/").content.decode()

        assert re.search(r'<select name="profile-0-timezone"[^>]*>', page)
        assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page

    def test_the_providers_timezone_is_a_choice(self, staff):
        profile = ProviderProfileFactory()

        page = staff.get(f"/admin/appointments/providerprofile/{profile.pk}/change/").content.decode()

        assert re.search(r'<select name="timezone"[^>]*>', page)
        assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page

    def test_a_name_not_in_the_list_is_refused(self, staff):
        profile = ProviderProfileFactory()
        page = staff.get(f"/admin/appointments/providerprofile/{profile.pk}/change/")
        form = page.context["adminform"].form
        data = {name: form[name].value() for name in form.fields}
        data.update(timezone="Mars/Olympus_Mons", working_hours='[{"weekday": 0, "start": "09:00", "end": "17:00"}]')

        r = staff.post(f"/admin/appointments/providerprofile/{profile.pk}/change/", {**data, "days_off": "[]"})

        assert r.status_code == 200 and "Select a valid choice" in r.content.decode()
        assert ProviderProfile.objects.get(pk=profile.pk).timezone == "Europe/Berlin"

    def test_the_user_page_still_saves_a_chosen_timezone(self, staff, user_a):
        page = staff.get(f"/admin/accounts/user/{user_a.pk}/change/")
        inline_forms = [form for inline in page.context["inline_admin_formsets"] for form in inline.formset]
        data = {}
        for form in [page.context["adminform"].form, *inline_forms]:
            for name in form.fields:
                value = form[name].value()
                if value not in (None, False):
                    data[form.add_prefix(name)] = value
        for inline in page.context["inline_admin_formsets"]:
            management = inline.formset.management_form
            data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        data.update({"profile-0-timezone": "Asia/Tokyo", "profile-0-user": str(user_a.pk)})
        data.pop("password", None)

        r = staff.post(f"/admin/accounts/user/{user_a.pk}/change/", data)

        assert r.status_code == 302, r.content.decode()[:3000]
        assert UserProfile.objects.get(user=user_a).timezone == "Asia/Tokyo"


@pytest.mark.django_db
class TestAxesIsReadOnly:
    @pytest.fixture
    def attempt(self):
        return AccessAttempt.objects.create(
            username="someone@example.org", ip_address="10.0.0.1", user_agent="test", failures_since_start=5
        )

    @pytest.mark.parametrize("model", ["accessattempt", "accesslog", "accessfailurelog"])
    def test_the_lists_render_without_add_or_actions(self, staff, model):
        r = staff.get(f"/admin/axes/{model}/")

        assert r.status_code == 200
        assert f"/admin/axes/{model}/add/" not in r.content.decode()
        assert 'name="action"' not in r.content.decode()

    def test_an_attempt_is_shown_but_not_changed(self, staff, attempt):
        r = staff.post(f"/admin/axes/accessattempt/{attempt.pk}/change/", {"username": "other@example.org"})

        assert r.status_code == 403
        assert staff.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").status_code == 200
        assert AccessAttempt.objects.get(pk=attempt.pk).username == "someone@example.org"

    def test_an_attempt_is_not_deleted_in_the_admin(self, staff, attempt):
        assert staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
        r = staff.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk]})

        assert r.status_code in (200, 302)
        assert AccessAttempt.objects.filter(pk=attempt.pk).exists()

    def test_nothing_is_added_in_the_admin(self, staff):
        assert staff.get("/admin/axes/accessattempt/add/").status_code == 403
