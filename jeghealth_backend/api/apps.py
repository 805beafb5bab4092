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

        from django.core.signals import request_started

        from jeghealth_backend.replica import end_lag_tolerant_reads

        # Every request starts on the primary, whatever a streamed answer before it on this thread left behind.
        request_started.connect(end_lag_tolerant_reads, dispatch_uid="jeg-replica-reads-end")
