"""Django admin views of a person's data are audited like any other access by someone else.

Every ModelAdmin of rows that belong to a person inherits `AuditedAdminMixin` and names the person with
`audit_owner_field`. The mixin then writes audit rows (through `accounts.audit.audit_record`, in the admin view's
transaction) for:

- a changelist page: one `read` row per person shown on it (resource id empty: a list);
- a change page (GET, or a form shown again with its errors): one `read` row for the object;
- a save: `create` or `update`; an admin action that changes rows: `update` per row (`audit_objects`);
- a delete, single or the bulk action: one `delete` row per row deleted, written before it goes.

`manage.py check` refuses an `audit_owner_field` that does not lead to the user model, and
tests/accounts/test_admin_audit.py walks every registered admin of the apps holding personal data, so a new
admin page of such data is audited unless it says why not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

from .audit import audit_record
from .choices import AuditAction


def _lookup_target(model, path: str):
    """The model that the lookup PATH ("user", "device__owner", "pk") of MODEL ends on, or None."""
    *relations, last = path.split(LOOKUP_SEP)
    try:
        for name in relations:
            model = model._meta.get_field(name).related_model
            if model is None:
                return None
        field = model._meta.pk if last == "pk" else model._meta.get_field(last)
    except FieldDoesNotExist:
        return None
    if field.is_relation:
        return field.related_model
    return model if field.primary_key else None


class AuditedAdminMixin(admin.ModelAdmin):
    """For ModelAdmins of per-person rows: every page that shows them and every change or delete is audited.

    Set `audit_owner_field` to the lookup from a row to its person's user ("user", "device__owner",
    "notification__recipient"; "pk" when the rows are the users themselves) and `audit_resource_type` to the name
    the API's audit rows use (default: the model's name). Deleting goes through `perform_delete` and
    `perform_delete_queryset`: override those, not `delete_model`/`delete_queryset`, to delete through a service.
    """

    audit_resource_type: str = ""
    audit_owner_field: str = "user"

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if _lookup_target(self.model, self.audit_owner_field) is not get_user_model():
            errors.append(
                checks.Error(
                    f"audit_owner_field {self.audit_owner_field!r} of {type(self).__name__} does not lead from "
                    f"{self.model._meta.label} to the user model.",
                    obj=type(self),
                    id="jeghealth.E010",
                )
            )
        return errors

    @property
    def resource_type(self) -> str:
        return self.audit_resource_type or self.model._meta.model_name

    # --- recording ---------------------------------------------------------------------------------------

    def _people_of(self, pks: Iterable) -> dict:
        """{person's user id: [pk, ...]} for the rows PKS (one query), in the order given."""
        pks = list(pks)
        person_of = dict(
            self.model._default_manager.filter(pk__in=pks).values_list("pk", self.audit_owner_field).order_by()
        )
        grouped: dict = defaultdict(list)
        for pk in pks:
            if person_of.get(pk) is not None:
                grouped[person_of[pk]].append(pk)
        return grouped

    def audit_objects(self, request, objects: Iterable, action: str, *, listed: bool = False) -> None:
        """Audit ACTION on OBJECTS for each person they belong to: one row per object, or with LISTED (a
        changelist page) one row per person."""
        grouped = self._people_of(obj.pk for obj in objects)
        people = get_user_model()._default_manager.in_bulk(list(grouped))
        for person_id, pks in grouped.items():
            audit_record(
                actor=request.user,
                patient=people[person_id],
                action=action,
                resource_type=self.resource_type,
                resource_ids=("",) if listed else [str(pk) for pk in pks],
                request=request,
            )

    def audit_deleted(self, request, objects: list) -> None:
        """Called before OBJECTS are deleted; the default writes one `delete` audit row each."""
        self.audit_objects(request, objects, AuditAction.DELETE)

    # --- the views -----------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if response.status_code == 200 and changelist is not None:
            # Evaluates the page's queryset once; the template reuses the cached rows.
            self.audit_objects(request, list(changelist.result_list), AuditAction.READ, listed=True)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        shown = (getattr(response, "context_data", None) or {}).get("original")
        if response.status_code == 200 and shown is not None:
            self.audit_objects(request, [shown], AuditAction.READ)
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.audit_objects(request, [obj], AuditAction.UPDATE if change else AuditAction.CREATE)

    def delete_model(self, request, obj):
        self.audit_deleted(request, [obj])
        self.perform_delete(request, obj)

    def delete_queryset(self, request, queryset):
        self.audit_deleted(request, list(queryset))
        self.perform_delete_queryset(request, queryset)

    def perform_delete(self, request, obj) -> None:
        super().delete_model(request, obj)

    def perform_delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
