from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Cross-cutting API machinery: the error envelope, pagination, parsing, request logging, health."""

    name = "jeghealth_backend.api"
    label = "api"
