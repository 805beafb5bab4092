"""`/api/v1/notifications/`: the fixed paths come before the inbox router, whose `{id}` only matches a UUID."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

resources = SimpleRouter()
resources.register("emergency-contacts", views.EmergencyContactViewSet, basename="emergency-contact")

inbox = SimpleRouter()
inbox.register("", views.NotificationViewSet, basename="notification")

urlpatterns = [
    path("preferences/", views.PreferencesView.as_view(), name="notification-preferences"),
    path("push-tokens/", views.PushTokenView.as_view(), name="notification-push-tokens"),
    *resources.urls,
    *inbox.urls,
]
