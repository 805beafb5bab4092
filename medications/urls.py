from rest_framework.routers import SimpleRouter

from .views import CatalogViewSet, CategoryViewSet, InteractionViewSet, PrescriptionViewSet, RegimenViewSet

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="medication-category")
router.register("catalog", CatalogViewSet, basename="medication-catalog")
router.register("interactions", InteractionViewSet, basename="medication-interaction")
router.register("prescriptions", PrescriptionViewSet, basename="medication-prescription")
# Last, at the app's root: the regimens. Their ids are UUIDs, so `doses/`, `adherence/` and the prefixes above
# never read as a regimen id.
router.register("", RegimenViewSet, basename="medication-regimen")

urlpatterns = router.urls
