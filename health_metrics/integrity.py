"""The guarantee the readings table's missing foreign keys would give, checked: no reading of a person or device
that no longer exists.

The services keep it (storage.lock_owners, and the row locks of the deletions), so this finds nothing unless a
person or device was deleted some other way (raw SQL, a restore of part of the database). It repairs as the
foreign keys' ON DELETE would have: a person's readings go with them, a device's readings lose their device.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef

from .models import HealthMetric

logger = logging.getLogger(__name__)


@transaction.atomic
def readings_references_repair() -> tuple[int, int]:
    """Delete readings whose person is gone and unlink readings from devices that are gone; (deleted, unlinked)."""
    users = HealthMetric._meta.get_field("user").related_model
    devices = HealthMetric._meta.get_field("device").related_model
    orphans = HealthMetric.objects.filter(~Exists(users.objects.filter(pk=OuterRef("user_id"))))
    deleted, _ = orphans.delete()
    unlinked = (
        HealthMetric.objects.filter(device_id__isnull=False)
        .filter(~Exists(devices.objects.filter(pk=OuterRef("device_id"))))
        .update(device=None)
    )
    if deleted or unlinked:
        logger.error("health_metric_references_repaired", extra={"deleted": deleted, "unlinked": unlinked})
    return deleted, unlinked
