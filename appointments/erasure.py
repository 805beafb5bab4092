"""What happens to appointments when an account is deleted.

A patient's appointments go with the patient (CASCADE). A provider's stay with their patients, who own them as
part of their record (SET_NULL on `provider`): just before the provider's account is deleted, this receiver has
`services.provider_appointments_detach` keep the provider's name on them and cancel those still to come. It is a
receiver, not a call from `accounts`, because accounts sits below appointments and must not know of it; it does
for the ORM what an ON DELETE rule would do in the database, on every path that deletes a user (the API's
erasure, the admin, a shell).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete

from . import services


def _provider_departing(sender, instance, **kwargs) -> None:
    services.provider_appointments_detach(provider=instance)


def connect() -> None:
    pre_delete.connect(_provider_departing, sender=get_user_model(), dispatch_uid="appointments.provider_departing")
