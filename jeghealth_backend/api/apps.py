from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Cross-cutting API machinery: the error envelope, pagination, parsing, request logging, health."""

    name = "jeghealth_backend.api"
    label = "api"

    def ready(self) -> None:
        from jeghealth_backend import (
            encryption,  # noqa: F401 - registers the deploy check of the encryption keys
            metrics,
        )

        metrics.setup()
