from django.urls import path
from rest_framework.routers import SimpleRouter

from .care_views import CarePatientsView
from .views import DashboardView, InsightsView, ReportViewSet

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="report")

# `health-metrics/export/` (reports.views.HealthMetricExportView) is mounted in jeghealth_backend/urls.py, in the
# health-metrics part of the URL space.
urlpatterns = [
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("insights/", InsightsView.as_view(), name="insights"),
    path("care/patients/", CarePatientsView.as_view(), name="care-patients"),
    *router.urls,
]
