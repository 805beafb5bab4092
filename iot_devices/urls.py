from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="device-alert")
router.register("", views.DeviceViewSet, basename="device")

urlpatterns = [
    path("me/verify/", views.DeviceVerifyView.as_view(), name="device-me-verify"),
    path("me/config/", views.DeviceConfigView.as_view(), name="device-me-config"),
    path("me/heartbeat/", views.DeviceHeartbeatView.as_view(), name="device-me-heartbeat"),
    path("me/batches/", views.DeviceBatchUploadView.as_view(), name="device-me-batches"),
    path(
        "<uuid:device_pk>/batches/",
        views.DeviceBatchViewSet.as_view({"get": "list"}),
        name="device-batch-list",
    ),
    path(
        "<uuid:device_pk>/batches/<uuid:pk>/",
        views.DeviceBatchViewSet.as_view({"get": "retrieve"}),
        name="device-batch-detail",
    ),
    *router.urls,
]
