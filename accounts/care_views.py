"""Care team, access log and export: what lets a doctor see a patient's data, and the patient trust it."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jeghealth_backend.api.viewsets import BaseViewSet

from .care_team import care_grant_create, care_grant_revoke, care_grants_visible_to
from .choices import CareScope
from .export import export_stream
from .models import AuditEvent, CareTeamGrant

TAGS = ["auth"]


class PersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")
    email = serializers.EmailField()


class CareTeamGrantSerializer(serializers.ModelSerializer):
    patient = PersonSerializer(read_only=True)
    doctor = PersonSerializer(read_only=True)
    doctor_email = serializers.EmailField(source="doctor.email", read_only=True)
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = CareTeamGrant
        fields = ["id", "patient", "doctor", "doctor_email", "scopes", "expires_at", "created_at", "is_active"]
        read_only_fields = fields

    def get_is_active(self, grant: CareTeamGrant) -> bool:
        return grant.revoked_at is None and (grant.expires_at is None or grant.expires_at > timezone.now())


class CareTeamGrantInputSerializer(serializers.Serializer):
    doctor_email = serializers.EmailField(max_length=254)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=CareScope.choices), min_length=1, max_length=len(CareScope.values)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AccessLogSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "actor", "action", "resource_type", "resource_id", "ip_address", "user_agent", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, event: AuditEvent) -> dict | None:
        if event.actor is None:
            return None
        return {"id": str(event.actor_id), "name": event.actor.full_name, "email": event.actor.email}


class CareTeamViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, BaseViewSet):
    """A patient's grants to doctors (and, for a doctor, the grants made to them)."""

    serializer_class = CareTeamGrantSerializer
    model = CareTeamGrant
    filter_backends: list = []

    def scoped_queryset(self):
        return care_grants_visible_to(user=self.request.user)

    @extend_schema(tags=TAGS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(tags=TAGS, request=CareTeamGrantInputSerializer, responses={201: CareTeamGrantSerializer})
    def create(self, request):
        data = CareTeamGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = care_grant_create(patient=request.user, request=request, **data.validated_data)
        return Response(CareTeamGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses={204: None})
    def destroy(self, request, pk=None):
        grant = get_object_or_404(self.get_queryset(), pk=pk)
        care_grant_revoke(grant=grant, by=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessLogViewSet(mixins.ListModelMixin, BaseViewSet):
    """Who, other than me, read or changed my data."""

    serializer_class = AccessLogSerializer
    model = AuditEvent
    filter_backends: list = []

    def scoped_queryset(self):
        user = self.request.user
        return (
            AuditEvent.objects.filter(patient=user).exclude(actor=user).select_related("actor").order_by("-created_at")
        )

    @extend_schema(tags=TAGS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class ExportView(APIView):
    """Everything held about me, streamed as one JSON document."""

    @extend_schema(tags=TAGS, responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The whole export")})
    def get(self, request):
        response = StreamingHttpResponse(export_stream(request.user), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="jeghealth-export.json"'
        return response
