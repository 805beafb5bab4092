"""OpenAPI: the session-bound JWT authentication documents the same Bearer scheme as simplejwt's own."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class SessionJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.SessionJWTAuthentication"
