"""Django admin views of a person's health data are audited like any other access by someone else."""

from __future__ import annotations

from django.contrib import admin

from .audit import audit_record


class AuditedAdminMixin(admin.ModelAdmin):
    """For ModelAdmins of per-person rows: viewing or changing one records an audit event for its owner.

    Set `audit_resource_type` and `audit_owner_field` (the attribute holding the person, e.g. "user").
    """

    audit_resource_type: str = ""
    audit_owner_field: str = "user"

    def _audit(self, request, obj, action: str) -> None:
        owner = getattr(obj, self.audit_owner_field, None) if obj is not None else None
        if owner is not None:
            audit_record(
                actor=request.user,
                patient=owner,
                action=action,
                resource_type=self.audit_resource_type,
                resource_ids=[str(obj.pk)],
                request=request,
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            self._audit(request, self.get_object(request, object_id), "read")
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "update" if change else "create")

    def delete_model(self, request, obj):
        self._audit(request, obj, "delete")
        super().delete_model(request, obj)
