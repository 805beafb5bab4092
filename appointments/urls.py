from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("providers", views.ProviderViewSet, basename="appointments-providers")
router.register("", views.AppointmentViewSet, basename="appointments")

urlpatterns = [
    path("calendar/", views.CalendarView.as_view(), name="appointments-calendar"),
    path("calendar/rotate/", views.CalendarRotateView.as_view(), name="appointments-calendar-rotate"),
    re_path(
        r"^calendar/(?P<token>[A-Za-z0-9_-]{20,128})\.ics$",
        views.CalendarFeedView.as_view(),
        name="appointments-calendar-feed",
    ),
    *router.urls,
]
