"""The base of every viewset: one pattern for ids in URLs, and one hook for the rows a request may see.

`BaseViewSet.get_queryset` answers an empty queryset of `model` while drf-spectacular generates the schema (there
is no person then) and `scoped_queryset()` otherwise. Permissions are a narrowing of that queryset (STYLE.md):
another person's object is simply not in it, so it is a 404. Whose rows a request acts on (the caller, or a
patient under a care-team grant) is `accounts.access.PatientScopedMixin`'s business: it stays in accounts because
it is about grants, and it sits on top of this base.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from rest_framework.viewsets import GenericViewSet

from .replica_reads import ReplicaReadsMixin

# A UUID as `UUIDField` accepts it: hex digits with or without hyphens, either case.
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class BaseViewSet(ReplicaReadsMixin, GenericViewSet):
    """A viewset over rows of `model` identified by UUIDs.

    Subclasses set `model` and override `scoped_queryset()` to start from a selector scoped to the acting person;
    views over public reference data may set `queryset` instead. `replica_actions` names the actions whose reads
    may use the read replica (api/replica_reads.py).
    """

    model: type[Model]
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no person
            return self.model.objects.none()
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet:
        return super().get_queryset()
