"""`/api/v1/alerts/` (episodes) and, mounted by the project's urls at `/api/v1/notifications/alert-thresholds/`,
the person's own thresholds."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from jeghealth_backend.api.viewsets import UUID_PATTERN

from . import views

episodes = SimpleRouter()
episodes.register("", views.AlertEpisodeViewSet, basename="alert-episode")

urlpatterns = [
    re_path(rf"^(?P<pk>{UUID_PATTERN})/acknowledge/$", views.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    *episodes.urls,
]

thresholds = SimpleRouter()
thresholds.register("", views.AlertThresholdViewSet, basename="alert-threshold")
threshold_urlpatterns = thresholds.urls
