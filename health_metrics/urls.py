from rest_framework.routers import SimpleRouter

from .views import HealthMetricViewSet, ImportViewSet, TargetViewSet

router = SimpleRouter()
# Targets first: their prefix must not be read as a reading's id.
router.register("targets", TargetViewSet, basename="health-metric-target")
router.register("imports", ImportViewSet, basename="health-metric-import")
router.register("", HealthMetricViewSet, basename="health-metric")

urlpatterns = router.urls
