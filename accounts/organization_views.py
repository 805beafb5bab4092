"""Organizations (clinics) and their members: `/api/v1/organizations/` and `{id}/members/`.

A person sees only the organizations they belong to; any other is 404 (the queryset is narrowed to them). What a
member may change is the services' (403 for a member who is not a clinic admin).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.viewsets import UUID_PATTERN, BaseViewSet

from . import selectors, services
from .care_views import PersonSerializer
from .choices import OrganizationRole
from .models import Organization, OrganizationMembership

LAST_ADMIN_STAYS = OpenApiResponse(ErrorEnvelopeSerializer, "The clinic's last clinic admin stays")
TAGS = ["organizations"]


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]


class OrganizationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class MemberSerializer(serializers.ModelSerializer):
    user = PersonSerializer(read_only=True)

    class Meta:
        model = OrganizationMembership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class MemberInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=OrganizationRole.choices)


class MemberRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrganizationRole.choices)


class OrganizationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, mixins.UpdateModelMixin, BaseViewSet
):
    serializer_class = OrganizationSerializer
    model = Organization
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.organizations_of(user=self.request.user)

    @extend_schema(tags=TAGS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(tags=TAGS)
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(tags=TAGS, request=OrganizationInputSerializer, responses={201: OrganizationSerializer})
    def create(self, request):
        data = OrganizationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_create(
            name=data.validated_data["name"], creator=request.user, request=request
        )
        return Response(OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, request=OrganizationInputSerializer, responses={200: OrganizationSerializer})
    def partial_update(self, request, pk=None):
        organization = self.get_object()
        data = OrganizationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_update(
            organization=organization, actor=request.user, name=data.validated_data["name"]
        )
        return Response(OrganizationSerializer(organization).data)

    @extend_schema(tags=TAGS, responses={204: None})
    def destroy(self, request, pk=None):
        services.organization_delete(organization=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        methods=["get"],
        responses={200: MemberSerializer(many=True)},
        description="Every member of the organization, seen by any member.",
    )
    @extend_schema(
        tags=TAGS,
        methods=["post"],
        request=MemberInputSerializer,
        responses={201: MemberSerializer},
        description="A clinic admin adds the account of `email`; the `doctor` role needs the doctor role (else 400).",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def members(self, request, pk=None):
        organization = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.organization_members(organization=organization))
            return self.get_paginated_response(MemberSerializer(page, many=True).data)
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_add(
            organization=organization, actor=request.user, request=request, **data.validated_data
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        methods=["patch"],
        request=MemberRoleInputSerializer,
        responses={
            200: MemberSerializer,
            409: LAST_ADMIN_STAYS,
        },
    )
    @extend_schema(
        tags=TAGS,
        methods=["delete"],
        request=None,
        responses={204: None, 409: LAST_ADMIN_STAYS},
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=f"members/(?P<member_id>{UUID_PATTERN})",
        filter_backends=[],
    )
    def member(self, request, pk=None, member_id=None):
        organization = self.get_object()
        membership = get_object_or_404(selectors.organization_members(organization=organization), pk=member_id)
        if request.method == "DELETE":
            services.member_remove(membership=membership, actor=request.user, request=request)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = MemberRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_update(
            membership=membership, actor=request.user, role=data.validated_data["role"], request=request
        )
        return Response(MemberSerializer(membership).data)
