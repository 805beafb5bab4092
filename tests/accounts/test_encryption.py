"""Encryption at rest of the profile's free text: ciphertext in the column, plaintext through the API, rotation."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from accounts.models import UserProfile
from jeghealth_backend import encryption

SENTINEL = "Type 2 diabetes, sentinel-4f1c"


def raw_column(profile_id, column="medical_conditions") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_userprofile WHERE id = %s", [profile_id])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def _fresh_keys():
    encryption._fernet.cache_clear()
    yield
    encryption._fernet.cache_clear()


@pytest.mark.django_db
class TestProfileEncryption:
    def test_column_holds_ciphertext_and_api_answers_plaintext(self, client_a, user_a):
        r = client_a.patch("/api/v1/auth/profile/", {"medical_conditions": SENTINEL}, format="json")
        assert r.status_code == 200 and r.json()["medical_conditions"] == SENTINEL
        stored = raw_column(user_a.profile.pk)
        assert SENTINEL not in stored and stored.startswith("fernet:")
        assert client_a.get("/api/v1/auth/profile/").json()["medical_conditions"] == SENTINEL

    def test_rotation_keeps_old_rows_readable_and_reencrypts(self, user_a):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
            UserProfile.objects.filter(pk=user_a.profile.pk).update(allergies=SENTINEL)
            before = raw_column(user_a.profile.pk, "allergies")
        with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
            assert UserProfile.objects.get(pk=user_a.profile.pk).allergies == SENTINEL
            call_command("reencrypt_fields", stdout=open("/dev/null", "w"))  # noqa: SIM115
            after = raw_column(user_a.profile.pk, "allergies")
            assert after != before
        with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
            assert UserProfile.objects.get(pk=user_a.profile.pk).allergies == SENTINEL

    def test_a_wrong_key_raises_instead_of_returning_garbage(self, user_a):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            UserProfile.objects.filter(pk=user_a.profile.pk).update(emergency_notes=SENTINEL)
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]), pytest.raises(ValueError):
            UserProfile.objects.get(pk=user_a.profile.pk)

    def test_encrypted_fields_refuse_lookups(self):
        with pytest.raises(Exception, match="Unsupported lookup"):
            list(UserProfile.objects.filter(medical_conditions__icontains="x"))


def quiet_command(*args: str) -> None:
    call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
class TestSettingKeysForTheFirstTime:
    """Rows written under the key derived from SECRET_KEY stay readable once FIELD_ENCRYPTION_KEYS is set."""

    @pytest.fixture
    def written_without_keys(self, user_a):
        with override_settings(FIELD_ENCRYPTION_KEYS=[]):
            UserProfile.objects.filter(pk=user_a.profile.pk).update(allergies=SENTINEL)
        return user_a.profile.pk

    def test_rows_written_before_the_keys_are_readable_after(self, written_without_keys):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            assert UserProfile.objects.get(pk=written_without_keys).allergies == SENTINEL

    def test_the_api_answers_them_after_the_keys_are_set(self, written_without_keys, client_a):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            r = client_a.get("/api/v1/auth/profile/")

        assert r.status_code == 200 and r.json()["allergies"] == SENTINEL

    def test_new_values_are_encrypted_with_the_new_key_not_the_derived_one(self, user_a):
        new = Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
            UserProfile.objects.filter(pk=user_a.profile.pk).update(allergies=SENTINEL)

        stored = raw_column(user_a.profile.pk, "allergies").removeprefix("fernet:")
        assert Fernet(new.encode()).decrypt(stored.encode()).decode() == SENTINEL

    def test_reencrypt_fields_moves_them_under_the_new_key(self, written_without_keys):
        new = Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
            quiet_command("reencrypt_fields")

        stored = raw_column(written_without_keys, "allergies").removeprefix("fernet:")
        assert Fernet(new.encode()).decrypt(stored.encode()).decode() == SENTINEL
        with override_settings(FIELD_ENCRYPTION_KEYS=[new], FIELD_ENCRYPTION_SECRET_KEY_FALLBACK=False):
            assert UserProfile.objects.get(pk=written_without_keys).allergies == SENTINEL

    def test_without_the_fallback_rows_not_moved_are_refused(self, written_without_keys):
        keys = [Fernet.generate_key().decode()]
        no_fallback = override_settings(FIELD_ENCRYPTION_KEYS=keys, FIELD_ENCRYPTION_SECRET_KEY_FALLBACK=False)
        with no_fallback, pytest.raises(ValueError):
            UserProfile.objects.get(pk=written_without_keys)

    def test_check_counts_the_rows_left_and_passes_once_they_are_moved(self, written_without_keys):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            with pytest.raises(CommandError, match="1 rows are not under the current key"):
                quiet_command("reencrypt_fields", "--check")
            quiet_command("reencrypt_fields")
            out = io.StringIO()
            call_command("reencrypt_fields", "--check", stdout=out)

        assert "no longer needed" in out.getvalue()

    def test_the_deploy_warning_says_the_old_rows_stay_readable(self):
        with override_settings(FIELD_ENCRYPTION_KEYS=[]):
            (warning,) = encryption.check_encryption_keys(None)

        assert warning.id == "jeghealth.W001"
        assert "decrypt-only fallback" in warning.hint and "reencrypt_fields" in warning.hint


@pytest.mark.django_db
class TestReadingNotesEncryption:
    """Reading notes are stored encrypted on every write path, including the raw bulk inserts."""

    def _raw_notes(self, reading_id) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT notes FROM health_metrics_healthmetric WHERE id = %s", [reading_id])
            return cursor.fetchone()[0]

    def test_a_manual_reading(self, client_a):
        body = {"metric_type": "heart_rate", "value": 70, "recorded_at": "2025-07-24T12:00:00Z", "notes": SENTINEL}
        r = client_a.post("/api/v1/health-metrics/", body, format="json")
        assert r.status_code == 201 and r.json()["notes"] == SENTINEL
        stored = self._raw_notes(r.json()["id"].replace("-", "") if connection.vendor == "sqlite" else r.json()["id"])
        assert SENTINEL not in stored and stored.startswith("fernet:")

    def test_a_bulk_entry(self, client_a):
        item = {"metric_type": "weight", "value": 70, "recorded_at": "2025-07-24T12:00:00Z", "notes": SENTINEL}
        r = client_a.post("/api/v1/health-metrics/bulk/", {"metrics": [item]}, format="json")
        assert r.status_code == 201
        reading_id = r.json()["results"][0]["id"]
        stored = self._raw_notes(reading_id.replace("-", "") if connection.vendor == "sqlite" else reading_id)
        assert SENTINEL not in stored and stored.startswith("fernet:")

    def test_a_device_batch(self, user_a, django_capture_on_commit_callbacks):
        from health_metrics.models import HealthMetric
        from tests.iot_devices.factories import pair_device, reading

        watch = pair_device(user_a)
        batch = {"batch_id": "5b0f7f9e-8f5c-4d57-9c1e-2f0d8f3b1a10", "readings": [reading(notes=SENTINEL)]}
        with django_capture_on_commit_callbacks(execute=True):
            assert watch.client().post("/api/v1/devices/me/batches/", batch, format="json").status_code == 202
        stored_reading = HealthMetric.objects.get(user=user_a, device=watch.device)
        assert stored_reading.notes == SENTINEL
        raw_id = stored_reading.pk.hex if connection.vendor == "sqlite" else stored_reading.pk
        stored = self._raw_notes(raw_id)
        assert SENTINEL not in stored and stored.startswith("fernet:")
