"""Views whose reads tolerate a replica's lag (lists, summaries, exports, the dashboard, FHIR) say so here."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS

from jeghealth_backend.replica import end_lag_tolerant_reads, replica_configured, start_lag_tolerant_reads


class ReplicaReadsMixin:
    """Reads of the actions in `replica_actions` (a viewset's action names, or an APIView's method names) go to the
    read replica, unless the caller or the person the request is about wrote lately (jeghealth_backend/replica.py).

    Authentication, permissions and the care-team grant (`subject`) are settled on the primary first: a revoked
    grant or token must stop working at once, whatever the replica's lag.
    """

    replica_actions: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        action = getattr(self, "action", None) or request.method.lower()
        if request.method in SAFE_METHODS and action in self.replica_actions and replica_configured():
            people = {request.user.pk}
            subject = getattr(self, "subject", None)
            if subject is not None:
                people.add(subject.pk)
            start_lag_tolerant_reads(people)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # A streamed answer (an export) reads while it is sent: the next request's start ends it (api/apps.py).
        if not getattr(response, "streaming", False):
            end_lag_tolerant_reads()
        return response
