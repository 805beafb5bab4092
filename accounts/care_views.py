"""Care team, access log and export: what lets a doctor or a caregiver see a patient's data, and the patient
trust it."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.throttling import AUTH_THROTTLES
from jeghealth_backend.api.viewsets import BaseViewSet

from .care_team import (
    care_grant_create,
    care_grant_revoke,
    care_grant_to_organization_create,
    care_grants_visible_to,
    care_invitation_accept,
    care_invitation_create,
)
from .choices import CareScope, GrantRole, GrantStatus
from .export import export_stream
from .models import AuditEvent, CareTeamGrant, User

TAGS = ["auth"]


class PersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")
    email = serializers.EmailField()


class PatientRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class CareTeamGrantSerializer(serializers.ModelSerializer):
    """A grant as its patient and its grantee see it. Never the invitation token or its hash."""

    patient = PatientRefSerializer(read_only=True)
    grantee = PersonSerializer(read_only=True, allow_null=True, help_text="null until an invitation is accepted")
    organization = OrganizationRefSerializer(
        read_only=True, allow_null=True, help_text="The clinic granted (its doctor members read); null otherwise."
    )
    email = serializers.SerializerMethodField(help_text="The address the grant or invitation was made to.")
    status = serializers.ChoiceField(choices=GrantStatus.choices, read_only=True)
    doctor = serializers.SerializerMethodField(help_text="The grantee of a doctor's grant (null for a caregiver's).")
    doctor_email = serializers.SerializerMethodField(help_text="The doctor's e-mail (null for a caregiver's grant).")
    is_active = serializers.SerializerMethodField(help_text="`status` is `active`.")

    class Meta:
        model = CareTeamGrant
        fields = [
            "id",
            "role",
            "patient",
            "grantee",
            "organization",
            "email",
            "scopes",
            "status",
            "expires_at",
            "created_at",
            "accepted_at",
            # What doctors' clients read before grants had a role; kept so that they keep working.
            "doctor",
            "doctor_email",
            "is_active",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_email(self, grant: CareTeamGrant) -> str | None:
        # Null only for a grant stored without its address (made outside the API, before it was recorded).
        return grant.invited_email or None

    def _doctor(self, grant: CareTeamGrant) -> User | None:
        return grant.grantee if grant.role == GrantRole.DOCTOR else None

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_doctor(self, grant: CareTeamGrant) -> dict | None:
        doctor = self._doctor(grant)
        return None if doctor is None else PersonSerializer(doctor).data

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_doctor_email(self, grant: CareTeamGrant) -> str | None:
        doctor = self._doctor(grant)
        return None if doctor is None else doctor.email

    def get_is_active(self, grant: CareTeamGrant) -> bool:
        return grant.status == GrantStatus.ACTIVE


class CareTeamGrantInputSerializer(serializers.Serializer):
    """A doctor's grant (`doctor_email`, or `email`) or, with `role: caregiver`, an invitation to `email`."""

    role = serializers.ChoiceField(choices=GrantRole.choices, default=GrantRole.DOCTOR)
    email = serializers.EmailField(max_length=254, required=False)
    doctor_email = serializers.EmailField(max_length=254, required=False)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=CareScope.choices), min_length=1, max_length=len(CareScope.values)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    organization = serializers.UUIDField(
        required=False, help_text="A clinic's id: a grant to every doctor member, instead of an e-mail."
    )

    def validate(self, attrs):
        if "organization" in attrs:
            if attrs["role"] != GrantRole.DOCTOR or "email" in attrs or "doctor_email" in attrs:
                raise serializers.ValidationError(
                    {"organization": ["A grant to an organization names no e-mail and no caregiver role."]}
                )
            return {**attrs, "address": None}
        if attrs["role"] == GrantRole.DOCTOR:
            address = attrs.pop("doctor_email", None) or attrs.pop("email", None)
            if not address:
                raise serializers.ValidationError({"doctor_email": ["The doctor's e-mail address is required."]})
        else:
            if "doctor_email" in attrs:
                raise serializers.ValidationError({"doctor_email": ["A caregiver is invited by `email`."]})
            address = attrs.pop("email", None)
            if not address:
                raise serializers.ValidationError({"email": ["The caregiver's e-mail address is required."]})
        attrs.pop("email", None)
        return {**attrs, "address": address}


class CareInvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128)


class AccessLogSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "actor", "action", "resource_type", "resource_id", "ip_address", "user_agent", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, event: AuditEvent) -> dict | None:
        # The snapshot written with the row: the actor as they were then, even after their account is erased.
        if event.actor_account_id is None:
            return None
        return {"id": str(event.actor_account_id), "name": event.actor_name, "email": event.actor_email}


AS_PARAMETER = OpenApiParameter(
    "as",
    str,
    enum=["patient", "grantee"],
    description="`patient`: the grants I made; `grantee`: the grants I hold (doctor or caregiver); absent: both.",
)


class CareTeamViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, BaseViewSet):
    """A patient's grants and invitations, and the grants a doctor or caregiver holds."""

    serializer_class = CareTeamGrantSerializer
    model = CareTeamGrant
    filter_backends: list = []

    def scoped_queryset(self):
        side = self.request.query_params.get("as") if self.action == "list" else None
        if side not in (None, "", "patient", "grantee"):
            raise ValidationError({"as": ["Choose patient or grantee."]})
        return care_grants_visible_to(user=self.request.user, side=side or None)

    @extend_schema(tags=TAGS, parameters=[AS_PARAMETER])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        request=CareTeamGrantInputSerializer,
        responses={201: CareTeamGrantSerializer},
        description="A doctor's grant is `active` at once; a caregiver's is `invited` until accepted; a grant to an "
        "`organization` (its id, instead of an e-mail) is `active` at once for every doctor member.",
    )
    def create(self, request):
        data = CareTeamGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        role, address = values.pop("role"), values.pop("address")
        organization_id = values.pop("organization", None)
        if organization_id is not None:
            grant = care_grant_to_organization_create(
                patient=request.user, organization_id=organization_id, request=request, **values
            )
        elif role == GrantRole.CAREGIVER:
            grant = care_invitation_create(patient=request.user, email=address, request=request, **values)
        else:
            grant = care_grant_create(patient=request.user, doctor_email=address, request=request, **values)
        return Response(CareTeamGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, responses={204: None})
    def destroy(self, request, pk=None):
        grant = get_object_or_404(self.get_queryset(), pk=pk)
        care_grant_revoke(grant=grant, by=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        request=CareInvitationAcceptInputSerializer,
        responses={200: CareTeamGrantSerializer, 400: ErrorEnvelopeSerializer},
        description="The signed-in invitee (whose account e-mail is the invited address) accepts a caregiver "
        "invitation with the token of its link.",
    )
    @action(detail=False, methods=["post"], throttle_classes=AUTH_THROTTLES)
    def accept(self, request):
        data = CareInvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = care_invitation_accept(user=request.user, token=data.validated_data["token"], request=request)
        return Response(CareTeamGrantSerializer(grant).data)


class AccessLogViewSet(mixins.ListModelMixin, BaseViewSet):
    """Who, other than me, read or changed my data."""

    serializer_class = AccessLogSerializer
    model = AuditEvent
    filter_backends: list = []

    def scoped_queryset(self):
        user = self.request.user
        return AuditEvent.objects.filter(patient=user).exclude(actor_account_id=user.pk).order_by("-created_at", "id")

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
