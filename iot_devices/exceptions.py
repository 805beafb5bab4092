"""Domain errors of devices; the API's exception handler turns them into the error envelope."""

from __future__ import annotations

from rest_framework import status

from jeghealth_backend.api.exceptions import ApplicationError


class DeviceConfigurationInvalid(ApplicationError):
    default_code = "validation_error"
    default_detail = "The configuration is not valid for this device type."


class DeviceSerialTaken(ApplicationError):
    default_code = "validation_error"
    default_detail = "You already have a device with this serial number."


class VerificationFailed(ApplicationError):
    default_code = "verification_failed"
    default_detail = "The verification code is not valid."


class VerificationCodeBurned(ApplicationError):
    status_code = 403
    default_code = "verification_locked"
    default_detail = "Too many wrong codes: this pairing code no longer works. Ask the owner to rotate the key."


class KeyExpired(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "api_key_expired"
    default_detail = "This API key has expired; the owner rotates it from the app."
