"""Input serializers check shape and single-request rules; output serializers list exactly what a client sees."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from jeghealth_backend.api.fields import HourMinuteField

from .channels.sms import e164
from .choices import Category, Platform
from .models import EmergencyContact, Notification, PushToken

HH_MM = {"allow_null": True, "required": False}
PUSH_TOKEN = re.compile(r"^(ExponentPushToken|ExpoPushToken)\[[A-Za-z0-9_\-]{1,200}\]$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,30}$")
INSTALLATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,100}$")


# --- notifications ------------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "category", "severity", "title", "body", "data", "is_read", "created_at"]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class ReadAllResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many notifications were unread and are now read.")


# --- preferences ----------------------------------------------------------------------------------------------


class ChannelFlagsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class CategoriesSerializer(serializers.Serializer):
    """One entry per category; unknown categories are refused rather than silently ignored."""

    health_alert = ChannelFlagsSerializer(required=False)
    medication_reminder = ChannelFlagsSerializer(required=False)
    appointment_reminder = ChannelFlagsSerializer(required=False)
    device_alert = ChannelFlagsSerializer(required=False)
    system = ChannelFlagsSerializer(required=False)

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(Category.values))
            if unknown:
                raise serializers.ValidationError({key: ["Not a notification category."] for key in unknown})
        return super().to_internal_value(data)


class PreferencesSerializer(serializers.Serializer):
    """The answer of `preferences/`: every category with all three flags, and the quiet hours."""

    categories = CategoriesSerializer()
    quiet_hours_start = HourMinuteField(**HH_MM)
    quiet_hours_end = HourMinuteField(**HH_MM)


class PreferencesInputSerializer(serializers.Serializer):
    """PUT body: the flags given are set and the others keep their value; quiet hours are set together."""

    categories = CategoriesSerializer(required=False)
    quiet_hours_start = HourMinuteField(**HH_MM)
    quiet_hours_end = HourMinuteField(**HH_MM)

    def validate(self, attrs: dict) -> dict:
        given = {"quiet_hours_start", "quiet_hours_end"} & set(attrs)
        if len(given) == 1:
            raise serializers.ValidationError(
                {"quiet_hours_end" if "quiet_hours_start" in given else "quiet_hours_start": ["Give both or neither."]}
            )
        start, end = attrs.get("quiet_hours_start"), attrs.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise serializers.ValidationError({"quiet_hours_end": ["Set both quiet hours, or clear both with null."]})
        if start is not None and start == end:
            raise serializers.ValidationError({"quiet_hours_end": ["Quiet hours must end at another time."]})
        return attrs


# --- push tokens -----------------------------------------------------------------------------------------------


class PushTokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255)
    platform = serializers.ChoiceField(choices=Platform.choices)
    installation_id = serializers.RegexField(
        INSTALLATION_ID,
        max_length=100,
        required=False,
        default="",
        help_text=(
            "A random id the app keeps for this installation (e.g. a UUID made at first start). A token registered "
            "to another account moves to this one only when the same installation id registered it; otherwise 409."
        ),
    )

    def validate_token(self, value: str) -> str:
        if not PUSH_TOKEN.match(value):
            raise serializers.ValidationError("Not an Expo push token (ExponentPushToken[…] or ExpoPushToken[…]).")
        return value


class PushTokenDeleteSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255)


class PushTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushToken
        fields = ["id", "token", "platform", "is_active", "last_used_at", "created_at"]
        read_only_fields = fields


# --- emergency contacts -------------------------------------------------------------------------------------


class EmergencyContactSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: either may be "" (a contact needs only one of them), which `format: email`
    # would call invalid.
    phone_number = serializers.CharField(read_only=True, help_text="A phone number, or empty.")
    email = serializers.CharField(read_only=True, help_text="An e-mail address, or empty.")

    class Meta:
        model = EmergencyContact
        fields = [
            "id",
            "name",
            "relationship",
            "phone_number",
            "email",
            "notify_on_critical",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EmergencyContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    relationship = serializers.CharField(max_length=60, required=False, allow_blank=True)
    phone_number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    notify_on_critical = serializers.BooleanField(required=False)

    def validate_phone_number(self, value: str) -> str:
        if value and not PHONE.match(value):
            raise serializers.ValidationError("Not a phone number (digits, spaces, +, -, parentheses).")
        return value

    def validate_email(self, value: str) -> str:
        return value.strip().lower()

    def validate(self, attrs: dict) -> dict:
        merged = _merged(self.instance, attrs, ["phone_number", "email", "notify_on_critical"])
        if not merged["phone_number"] and not merged["email"]:
            raise serializers.ValidationError({"non_field_errors": ["Give a phone number or an e-mail address."]})
        # Told by e-mail, or else by SMS, which needs the number in international format.
        if merged["notify_on_critical"] and not merged["email"] and e164(merged["phone_number"]) is None:
            raise serializers.ValidationError(
                {"phone_number": ["Give it in international format (+ and country code), or an e-mail address."]}
            )
        return attrs


def _merged(instance: Any, attrs: dict, names: list[str]) -> dict:
    """The values a partial update would leave: the request's where given, the stored ones otherwise."""
    defaults = {"notify_on_critical": False}
    return {name: attrs[name] if name in attrs else getattr(instance, name, defaults.get(name)) for name in names}
