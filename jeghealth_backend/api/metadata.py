"""What `OPTIONS` answers: DRF's description of a route's fields, for collection routes that take PUT too.

DRF's `SimpleMetadata` loads the object before describing a PUT, which on a route with no object (a collection
action such as `health-metrics/source-priority/`) fails an assertion and answers 500. Here a PUT is described
without loading anything when the route names no object.
"""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    def determine_actions(self, request, view):
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if lookup and lookup not in getattr(view, "kwargs", {}) and hasattr(view, "get_object"):
            get_object = view.get_object
            view.get_object = lambda: None  # nothing to load: the collection is the person's own
            try:
                return super().determine_actions(request, view)
            finally:
                view.get_object = get_object
        return super().determine_actions(request, view)
