"""The second step of sign-in, two-factor enrolment and removal, and the person's sessions (API.md, "Accounts
additions"). Thin: validate, call one service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from jeghealth_backend.api.schema import ErrorEnvelopeSerializer
from jeghealth_backend.api.throttling import AUTH_THROTTLES
from jeghealth_backend.api.viewsets import BaseViewSet

from . import mfa, selectors, sessions, signin
from .choices import SessionScope
from .models import AuthSession, RecoveryCode, TotpDevice
from .security_serializers import (
    LoginMfaInputSerializer,
    MfaStatusSerializer,
    RecoveryCodesSerializer,
    SessionSerializer,
    TotpConfirmInputSerializer,
    TotpDisableInputSerializer,
    TotpEnrolmentSerializer,
)
from .serializers import AuthResultSerializer
from .views import PublicView, user_payload

TAGS = ["auth"]


class LoginMfaView(PublicView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(
        tags=TAGS,
        summary="Second step of a sign-in with MFA on",
        request=LoginMfaInputSerializer,
        responses={200: AuthResultSerializer, 400: ErrorEnvelopeSerializer, 429: ErrorEnvelopeSerializer},
    )
    def post(self, request):
        data = LoginMfaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = signin.sign_in_second_factor(request=request, **data.validated_data)
        return Response({"user": user_payload(result.user), "tokens": result.tokens})


class TotpView(APIView):
    """My authenticator: its state (GET), a new enrolment (POST), turning it off (DELETE)."""

    accepts_enrolment_tokens = True

    def get_throttles(self):
        # Writes take codes and passwords: the `auth` scope. Reading the state must not spend the budget that the
        # person's sign-ins share (the scope also counts per e-mail address).
        classes = api_settings.DEFAULT_THROTTLE_CLASSES if self.request.method in SAFE_METHODS else AUTH_THROTTLES
        return [throttle() for throttle in classes]

    @extend_schema(tags=TAGS, summary="Is two-factor authentication on?", responses=MfaStatusSerializer)
    def get(self, request):
        device = TotpDevice.objects.filter(user=request.user, confirmed_at__isnull=False).first()
        left = RecoveryCode.objects.filter(user=request.user, used_at__isnull=True).count() if device else 0
        body = {
            "enabled": device is not None,
            "confirmed_at": device.confirmed_at if device else None,
            "recovery_codes_left": left,
            "required": selectors.mfa_required_for(request.user),
        }
        return Response(MfaStatusSerializer(body).data)

    @extend_schema(
        tags=TAGS,
        summary="Start enrolling an authenticator app",
        request=None,
        responses={200: TotpEnrolmentSerializer, 409: ErrorEnvelopeSerializer},
    )
    def post(self, request):
        return Response(TotpEnrolmentSerializer(mfa.totp_enrolment_start(user=request.user)).data)

    @extend_schema(
        tags=TAGS,
        summary="Turn two-factor authentication off",
        request=TotpDisableInputSerializer,
        responses={204: None},
    )
    def delete(self, request):
        data = TotpDisableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mfa.totp_disable(user=request.user, request=request, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpConfirmView(APIView):
    throttle_classes = AUTH_THROTTLES
    accepts_enrolment_tokens = True

    @extend_schema(
        tags=TAGS,
        summary="Confirm the authenticator with a first code: MFA is on",
        request=TotpConfirmInputSerializer,
        responses={200: RecoveryCodesSerializer, 409: ErrorEnvelopeSerializer},
    )
    def post(self, request):
        data = TotpConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = mfa.totp_enrolment_confirm(user=request.user, code=data.validated_data["code"], request=request)
        body = {"recovery_codes": codes}
        if request.auth.get(sessions.SCOPE_CLAIM) == SessionScope.MFA_ENROLMENT:
            body["tokens"] = signin.enrolment_upgrade(request=request, user=request.user)
        return Response(RecoveryCodesSerializer(body).data)


class SessionViewSet(mixins.ListModelMixin, BaseViewSet):
    """My signed-in sessions; DELETE signs one out at once (another person's is 404)."""

    serializer_class = SessionSerializer
    model = AuthSession
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.session_list(user=self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        token = getattr(self.request, "auth", None)
        context["session_id"] = token.get(sessions.SESSION_CLAIM) if token is not None else None
        return context

    @extend_schema(tags=TAGS, summary="My signed-in sessions")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        summary="Sign a session out (its refresh and access tokens answer 401 from now on)",
        responses={204: OpenApiResponse(description="Signed out")},
    )
    def destroy(self, request, pk=None):
        sessions.session_end(user=request.user, session_id=self.get_object().pk, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
