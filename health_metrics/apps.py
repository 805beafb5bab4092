from django.apps import AppConfig


class HealthMetricsConfig(AppConfig):
    name = "health_metrics"
