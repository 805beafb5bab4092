from rest_framework.permissions import BasePermission

from .selectors import user_has_role


class IsAdminRole(BasePermission):
    """Holds the `admin` role (every Django superuser does)."""

    message = "Only an admin may do this."

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, "admin")
