from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from alerts.urls import threshold_urlpatterns
from jeghealth_backend.api.health import HealthView
from jeghealth_backend.metrics.views import metrics_view
from reports.views import HealthMetricExportView

api_v1 = [
    path("health/", HealthView.as_view(), name="health"),
    path("auth/", include("accounts.urls")),
    path("organizations/", include("accounts.organization_urls")),
    path("health-metrics/export/", HealthMetricExportView.as_view(), name="health-metric-export"),
    path("health-metrics/", include("health_metrics.urls")),
    path("devices/", include("iot_devices.urls")),
    path("alerts/", include("alerts.urls")),
    # The person's own thresholds are alert rules (alerts app), at the path API.md gives them.
    path("notifications/alert-thresholds/", include(threshold_urlpatterns)),
    path("notifications/", include("notifications.urls")),
    path("appointments/", include("appointments.urls")),
    path("medications/", include("medications.urls")),
    path("", include("reports.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Our template: drf-spectacular's loads Google Fonts, and the documentation promises no CDN.
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
    path("admin/", admin.site.urls),
    # Prometheus (METRICS_ENABLED, METRICS_ALLOWED_IPS); a 404 for everyone else.
    path("metrics", metrics_view, name="metrics"),
]
