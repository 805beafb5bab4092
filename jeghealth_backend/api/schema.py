"""OpenAPI generation: every operation documents the error envelope for the statuses it can answer."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable code, e.g. `validation_error`, `not_found`.")
    message = serializers.CharField(help_text="One human sentence.")
    fields = serializers.DictField(
        required=False, child=serializers.JSONField(), help_text="Per-field messages (validation errors only)."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class EnvelopeAutoSchema(AutoSchema):
    """Adds the envelope for 400, 401, 403, 404, 405, 413, 429, 500 and 503 (Redis, which holds the throttles,
    is down) wherever a view did not say otherwise."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "404", "405", "429", "500", "503"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("413")
        if not self._is_public():
            codes += ["401", "403"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorEnvelopeSerializer, code, direction=direction)
                responses[code]["description"] = "Error envelope"
        return dict(sorted(responses.items()))

    def _is_public(self) -> bool:
        permissions = getattr(self.view, "permission_classes", [])
        return any(p is AllowAny for p in permissions) and not getattr(self.view, "authentication_classes", [])
