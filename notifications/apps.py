from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The one delivery engine: in-app, e-mail and push for every app (see services.notify)."""

    name = "notifications"
