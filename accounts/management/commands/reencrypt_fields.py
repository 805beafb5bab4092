"""Re-encrypt every encrypted field with the current key (the first of FIELD_ENCRYPTION_KEYS).

Run after putting a new key first in FIELD_ENCRYPTION_KEYS; once it has finished, the old keys can be removed.
Rows are read (decrypted with whichever key works) and written back in batches, each batch in a transaction.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from jeghealth_backend.encryption import EncryptedTextField

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the current key."

    def handle(self, *args, **options) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
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
