"""Accounts endpoints of API.md: thin views over accounts.services and accounts.selectors."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.throttling import AUTH_THROTTLES

from . import selectors, services, signin
from .permissions import IsAdminRole
from .security_serializers import LoginResultSerializer
from .serializers import (
    ChangePasswordInputSerializer,
    ChangePasswordResultSerializer,
    DeleteAccountInputSerializer,
    LoginInputSerializer,
    MessageSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    ProfileInputSerializer,
    ProfileSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    RegisterResultSerializer,
    RoleInputSerializer,
    RoleSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateInputSerializer,
    VerifyEmailInputSerializer,
)

TAGS = ["auth"]


def user_payload(user) -> dict:
    return UserSerializer(selectors.user_get(user_id=user.pk)).data


class PublicView(APIView):
    """Base of the ways in: no token needed, the credentials (if any) are in the body.

    DRF answers a failed authentication with 403 when the view names no authenticator for `WWW-Authenticate`;
    a wrong password or a dead refresh token is a 401 (API.md), so these views name the Bearer scheme.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class RegisterView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(tags=TAGS, request=RegisterInputSerializer, responses={201: RegisterResultSerializer})
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "password_confirm"}
        user = services.user_register(**fields)
        body = {
            "user": user_payload(user),
            "tokens": services.tokens_for_user(user, request=request),
            "message": "Account created. We sent a link to confirm your e-mail address.",
        }
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(
        tags=TAGS,
        description="Answers `{user, tokens}`; with MFA on `{mfa_required, challenge}` for login/mfa/ and no tokens; "
        "for an account that must have MFA and has none, `{mfa_enrolment_required, tokens}` valid for auth/mfa/ only.",
        request=LoginInputSerializer,
        responses={200: LoginResultSerializer, 401: ErrorEnvelopeSerializer},
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = signin.sign_in(request=request, **data.validated_data)
        if result.challenge is not None:
            return Response({"mfa_required": True, "challenge": result.challenge})
        if result.enrolment_required:
            return Response({"mfa_enrolment_required": True, "tokens": result.tokens})
        return Response({"user": user_payload(result.user), "tokens": result.tokens})


class TokenRefreshView(PublicView):
    @extend_schema(
        tags=TAGS, request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: ErrorEnvelopeSerializer}
    )
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(raw_refresh=data.validated_data["refresh"], request=request))


class LogoutView(APIView):
    # Signing out is allowed with any valid token, an enrolment-only one included.
    accepts_enrolment_tokens = True

    @extend_schema(
        tags=TAGS, request=RefreshInputSerializer, responses={205: OpenApiResponse(description="Logged out")}
    )
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_blacklist(user=request.user, raw_refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class CurrentUserView(APIView):
    @extend_schema(tags=TAGS, responses={200: UserSerializer})
    def get(self, request):
        return Response(user_payload(request.user))

    @extend_schema(tags=TAGS, request=UserUpdateInputSerializer, responses={200: UserSerializer})
    def patch(self, request):
        data = UserUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.user_update(user=request.user, data=data.validated_data)
        return Response(user_payload(request.user))

    @extend_schema(tags=TAGS, request=DeleteAccountInputSerializer, responses={204: None})
    def delete(self, request):
        data = DeleteAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_delete(user=request.user, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileView(APIView):
    @extend_schema(tags=TAGS, responses={200: ProfileSerializer})
    def get(self, request):
        return Response(ProfileSerializer(selectors.user_get(user_id=request.user.pk).profile).data)

    @extend_schema(tags=TAGS, request=ProfileInputSerializer, responses={200: ProfileSerializer})
    def patch(self, request):
        data = ProfileInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(user=request.user, data=data.validated_data)
        return Response(ProfileSerializer(profile).data)


class ChangePasswordView(APIView):
    @extend_schema(tags=TAGS, request=ChangePasswordInputSerializer, responses={200: ChangePasswordResultSerializer})
    def post(self, request):
        data = ChangePasswordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(
            user=request.user,
            old_password=data.validated_data["old_password"],
            new_password=data.validated_data["new_password"],
            request=request,
        )
        return Response({"message": "Password changed. Other sessions have been signed out.", "tokens": tokens})


class VerifyEmailView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(tags=TAGS, request=VerifyEmailInputSerializer, responses={200: MessageSerializer})
    def post(self, request):
        data = VerifyEmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verify(token=data.validated_data["token"])
        return Response({"message": "Your e-mail address is confirmed."})


class ResendVerificationView(APIView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(tags=TAGS, request=None, responses={200: MessageSerializer})
    def post(self, request):
        if request.user.is_email_verified:
            return Response({"message": "Your e-mail address is already confirmed."})
        services.email_verification_send(user=request.user)
        return Response({"message": "We sent a new confirmation link."})


class PasswordResetView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(tags=TAGS, request=PasswordResetInputSerializer, responses={200: MessageSerializer})
    def post(self, request):
        data = PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"message": "If an account uses this address, we sent it a link to reset the password."})


class PasswordResetConfirmView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(tags=TAGS, request=PasswordResetConfirmInputSerializer, responses={200: MessageSerializer})
    def post(self, request):
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data, request=request)
        return Response({"message": "Your password is changed. Sign in with the new one."})


class RoleListView(generics.ListAPIView):
    """Three rows, but a list all the same: paginated like every list of API.md, never a bare array."""

    serializer_class = RoleSerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        return selectors.role_list()

    @extend_schema(tags=TAGS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class UserRolesView(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    def _target(self, user_id):
        return get_object_or_404(selectors.user_queryset(), pk=user_id)

    @extend_schema(tags=TAGS, request=RoleInputSerializer, responses={200: UserSerializer})
    def post(self, request, user_id):
        target = self._target(user_id)
        data = RoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.role_grant(user=target, role_name=data.validated_data["role"], granted_by=request.user)
        return Response(user_payload(target))

    @extend_schema(tags=TAGS, request=RoleInputSerializer, responses={200: UserSerializer})
    def delete(self, request, user_id):
        target = self._target(user_id)
        data = RoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.role_revoke(user=target, role_name=data.validated_data["role"], revoked_by=request.user)
        return Response(user_payload(target))
