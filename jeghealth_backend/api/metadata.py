"""What `OPTIONS` answers: DRF's description of a route's fields, for collection routes that take PUT too.

DRF's `SimpleMetadata.determine_actions` loads the object before describing a PUT, which on a route with no
object (a collection action such as `health-metrics/source-priority/`) fails an assertion and answers 500. This
is the same walk, with the object loaded only when the route names one.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request


class Metadata(SimpleMetadata):
    def determine_actions(self, request, view):
        actions = {}
        for method in {"PUT", "POST"} & set(view.allowed_methods):
            view.request = clone_request(request, method)
            try:
                if hasattr(view, "check_permissions"):
                    view.check_permissions(view.request)
                if method == "PUT" and _names_an_object(view):
                    view.get_object()  # object-level permissions, as DRF checks them
            except (exceptions.APIException, PermissionDenied, Http404):
                pass
            else:
                actions[method] = self.get_serializer_info(view.get_serializer())
            finally:
                view.request = request
        return actions


def _names_an_object(view) -> bool:
    if not hasattr(view, "get_object"):
        return False
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    return not lookup or lookup in getattr(view, "kwargs", {})
