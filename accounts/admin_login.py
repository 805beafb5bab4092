"""The Django admin's sign-in asks for the second factor (API.md: "the Django admin asks for the second factor too").

The admin login form gains a code field. After the password (checked by Django's backends, django-axes first, so
wrong passwords count toward the lockout), an account with MFA on must give a current TOTP code or an unused
recovery code; a wrong one counts toward the same lockout and is a security event. While `admin` is among
MFA_REQUIRED_ROLES, a staff account without MFA cannot sign in to the admin at all: it enrols in the app first.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm

from . import mfa
from .selectors import mfa_enabled, mfa_required_for

ENROL_FIRST = "Staff sign in to the admin with two-factor authentication. Turn it on in the app (auth/mfa/totp/) first."
CODE_NEEDED = "Enter the code of your authenticator app, or a recovery code."


def admin_requires_mfa(user) -> bool:
    """The admin asks MFA of every staff account while `admin` is a role that requires it, and of those whose
    own roles require it."""
    return (user.is_staff and "admin" in settings.MFA_REQUIRED_ROLES) or mfa_required_for(user)


class MfaAdminAuthenticationForm(AdminAuthenticationForm):
    otp_code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=64,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        if not mfa_enabled(user):
            if admin_requires_mfa(user):
                raise forms.ValidationError(ENROL_FIRST, code="mfa_enrolment_required")
            return cleaned
        code = cleaned.get("otp_code") or ""
        if not code:
            raise forms.ValidationError(CODE_NEEDED, code="mfa_required")
        factor = mfa.second_factor_check(user=user, code=code)
        if factor not in (mfa.Factor.TOTP, mfa.Factor.RECOVERY_CODE):
            mfa.second_factor_failed(user=user, request=self.request, factor=factor, stage="admin")
            message = mfa.USED_RECOVERY_CODE if factor == mfa.Factor.USED_RECOVERY_CODE else mfa.WRONG_CODE
            raise forms.ValidationError(message, code="mfa_invalid")
        mfa.second_factor_succeeded(user=user, request=self.request, factor=factor)
        return cleaned
