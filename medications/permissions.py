from rest_framework.permissions import BasePermission

from accounts.selectors import user_has_role


class IsDoctor(BasePermission):
    """Holds the `doctor` role. Whether the doctor may act for a given patient is the grant's business (404)."""

    message = "Only a doctor may do this."

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, "doctor")
