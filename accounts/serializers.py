"""Input serializers check shape and fields; output serializers list exactly what a client may see."""

from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from .choices import BloodType, Gender, PreferredUnits, RoleName
from .models import Role, User, UserProfile
from .selectors import user_role_names

NAME = {"max_length": 150, "required": False, "allow_blank": True}
PASSWORD = {"write_only": True, "max_length": 128, "trim_whitespace": False, "style": {"input_type": "password"}}
TEXT = {"required": False, "allow_blank": True, "max_length": 5000}


# --- output ---------------------------------------------------------------------------------------------


class ProfileSerializer(serializers.ModelSerializer):
    height_cm = serializers.FloatField(allow_null=True, required=False, min_value=30, max_value=280)

    class Meta:
        model = UserProfile
        fields = [
            "height_cm",
            "blood_type",
            "gender",
            "medical_conditions",
            "allergies",
            "current_medications_notes",
            "emergency_notes",
            "preferred_units",
            "timezone",
        ]


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    profile = ProfileSerializer(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "username",
            "first_name",
            "last_name",
            "phone_number",
            "date_of_birth",
            "roles",
            "is_email_verified",
            "date_joined",
            "profile",
        ]
        read_only_fields = fields

    def get_roles(self, user: User) -> list[str]:
        return user_role_names(user)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResultSerializer(serializers.Serializer):
    user = UserSerializer()
    tokens = TokenPairSerializer()


class RegisterResultSerializer(AuthResultSerializer):
    message = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "description"]


# --- input ----------------------------------------------------------------------------------------------


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    password = serializers.CharField(**PASSWORD)
    password_confirm = serializers.CharField(**PASSWORD)
    phone_number = serializers.RegexField(r"^\+?[0-9 ()-]{4,31}\Z", max_length=32, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs["password"] != attrs["password_confirm"]:
            raise serializers.ValidationError({"password_confirm": ["The two passwords do not match."]})
        return attrs


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(**PASSWORD)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class TokenRefreshSerializer(serializers.Serializer):
    """simplejwt's TOKEN_REFRESH_SERIALIZER, named in settings: the view below uses the service directly."""

    refresh = serializers.CharField(max_length=4096)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        from .services import token_refresh

        return token_refresh(raw_refresh=attrs["refresh"])


class ProfileInputSerializer(serializers.Serializer):
    height_cm = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=30, max_value=280, required=False, allow_null=True
    )
    blood_type = serializers.ChoiceField(choices=BloodType.choices, required=False, allow_blank=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    medical_conditions = serializers.CharField(**TEXT)
    allergies = serializers.CharField(**TEXT)
    current_medications_notes = serializers.CharField(**TEXT)
    emergency_notes = serializers.CharField(**TEXT)
    preferred_units = serializers.ChoiceField(choices=PreferredUnits.choices, required=False)
    timezone = serializers.CharField(max_length=64, required=False)

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"{value!r} is not an IANA time zone name, such as Europe/Paris.")
        return value


class UserUpdateInputSerializer(serializers.Serializer):
    """The fields a person may change on themselves. Unknown keys (roles, is_staff, email, ...) are ignored."""

    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150, required=False)
    first_name = serializers.CharField(**NAME)
    last_name = serializers.CharField(**NAME)
    phone_number = serializers.RegexField(r"^\+?[0-9 ()-]{4,31}\Z", max_length=32, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    profile = ProfileInputSerializer(required=False)


class DeleteAccountInputSerializer(serializers.Serializer):
    password = serializers.CharField(**PASSWORD)


class ChangePasswordInputSerializer(serializers.Serializer):
    old_password = serializers.CharField(**PASSWORD)
    new_password = serializers.CharField(**PASSWORD)
    new_password_confirm = serializers.CharField(**PASSWORD)

    def validate(self, attrs):
        if attrs["new_password"] != attrs["new_password_confirm"]:
            raise serializers.ValidationError({"new_password_confirm": ["The two passwords do not match."]})
        return attrs


class ChangePasswordResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    tokens = TokenPairSerializer()


class VerifyEmailInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128)


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(**PASSWORD)


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RoleName.choices)
