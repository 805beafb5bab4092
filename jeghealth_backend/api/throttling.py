"""Throttles keyed in the shared cache (Redis in deployments), with rates from settings.

`auth` limits sign-up, login, password reset and verification resends twice over: per client IP and per e-mail
address named in the body, so neither one address from many IPs nor many addresses from one IP gets through.
"""

from __future__ import annotations

import hashlib

from rest_framework import throttling


class AnonRateThrottle(throttling.AnonRateThrottle):
    scope = "anon"


class UserRateThrottle(throttling.UserRateThrottle):
    scope = "user"


class AuthIPRateThrottle(throttling.SimpleRateThrottle):
    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "auth-ip", "ident": self.get_ident(request)}


class AuthEmailRateThrottle(throttling.SimpleRateThrottle):
    scope = "auth"

    def get_cache_key(self, request, view):
        email = ""
        if isinstance(request.data, dict):
            email = str(request.data.get("email") or "")
        if not email and request.user and request.user.is_authenticated:
            email = request.user.email
        if not email:
            return None
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return self.cache_format % {"scope": "auth-email", "ident": digest}


AUTH_THROTTLES = [AuthIPRateThrottle, AuthEmailRateThrottle]
