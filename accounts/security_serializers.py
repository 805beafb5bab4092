"""Serializers of the second factor, the sign-in answers and the sessions (input checks shape; output lists fields)."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from .models import AuthSession
from .serializers import PASSWORD, AuthResultSerializer, TokenPairSerializer

CODE_HELP = "A 6-digit code of the authenticator app, or an unused recovery code (XXXX-XXXX-XXXX-XXXX)."


class MfaChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField(help_text="Always true: send the challenge and a code to login/mfa/.")
    challenge = serializers.CharField(help_text="Valid for 5 minutes, once; 5 wrong codes end it.")


class MfaEnrolmentRequiredSerializer(serializers.Serializer):
    mfa_enrolment_required = serializers.BooleanField(help_text="Always true: this account must turn on MFA.")
    tokens = TokenPairSerializer(help_text="Valid for the auth/mfa/ endpoints (and logout/) only; others answer 403.")


LoginResultSerializer = PolymorphicProxySerializer(
    component_name="LoginResult",
    serializers=[AuthResultSerializer, MfaChallengeSerializer, MfaEnrolmentRequiredSerializer],
    resource_type_field_name=None,
)


class LoginMfaInputSerializer(serializers.Serializer):
    challenge = serializers.CharField(max_length=128)
    code = serializers.CharField(max_length=64, help_text=CODE_HELP)


class TotpEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32 secret for the authenticator app; shown only now.")
    otpauth_url = serializers.CharField(help_text="The same secret as an otpauth:// URL (for a QR code).")


class TotpConfirmInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16, help_text="The current 6-digit code of the authenticator app.")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="10 single-use codes, shown only now: keep them somewhere safe."
    )
    tokens = TokenPairSerializer(
        required=False,
        help_text="Only when confirmed with an enrolment token: a full session replacing the enrolment one.",
    )


class TotpDisableInputSerializer(serializers.Serializer):
    password = serializers.CharField(**PASSWORD)
    code = serializers.CharField(max_length=64, help_text=CODE_HELP)


class MfaStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    recovery_codes_left = serializers.IntegerField()
    required = serializers.BooleanField(help_text="This account's roles require MFA (MFA_REQUIRED_ROLES).")


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The session of the token making this request.")

    class Meta:
        model = AuthSession
        fields = ["id", "created_at", "last_used_at", "user_agent", "ip_address", "current"]
        read_only_fields = fields

    def get_current(self, session: AuthSession) -> bool:
        return str(session.pk) == str(self.context.get("session_id"))
