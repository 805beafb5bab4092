"""Re-encrypt every encrypted field with the current key (the first of FIELD_ENCRYPTION_KEYS).

Run after putting a new key first in FIELD_ENCRYPTION_KEYS, or after setting the variable for the first time
(the rows written before it are under the key derived from SECRET_KEY, which stays a decrypt-only fallback until
then). Rows are read (decrypted with whichever key works) and written back in batches, each batch in a
transaction. `--check` writes nothing: it counts the values not yet under the current key and exits 1 while there
are any, so that an operator knows when the old keys (and the SECRET_KEY fallback) can go.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from jeghealth_backend.encryption import EncryptedTextField, is_under_current_key

BATCH = 500


def _encrypted_models() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the current key (--check: only count what is left to move)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; count the values not under the current key and exit 1 if there are any.",
        )

    def handle(self, *args, **options) -> None:
        if options["check"]:
            self._check()
            return
        total = 0
        for model, fields in _encrypted_models():
            count = 0
            pks = list(model._default_manager.values_list("pk", flat=True).order_by("pk"))
            for start in range(0, len(pks), BATCH):
                with transaction.atomic():
                    rows = model._default_manager.select_for_update().filter(pk__in=pks[start : start + BATCH])
                    for row in rows:
                        model._default_manager.filter(pk=row.pk).update(**{f: getattr(row, f) for f in fields})
                        count += 1
            total += count
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted ({', '.join(fields)})")
        self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted with the current key."))

    def _check(self) -> None:
        left = 0
        for model, fields in _encrypted_models():
            # Cast to a plain text column: the stored ciphertext, not the field's decrypted value.
            raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in fields}
            rows = model._default_manager.annotate(**raw).values_list(*raw).iterator(chunk_size=BATCH)
            count = sum(1 for values in rows if not all(is_under_current_key(value) for value in values))
            left += count
            self.stdout.write(f"{model._meta.label}: {count} rows not under the current key ({', '.join(fields)})")
        if left:
            raise CommandError(f"{left} rows are not under the current key yet: run reencrypt_fields.")
        self.stdout.write(
            self.style.SUCCESS(
                "Every encrypted value is under the current key: older keys, and the SECRET_KEY fallback "
                "(FIELD_ENCRYPTION_SECRET_KEY_FALLBACK=0), are no longer needed."
            )
        )
