from rest_framework.routers import SimpleRouter

from .organization_views import OrganizationViewSet

router = SimpleRouter()
router.register("", OrganizationViewSet, basename="organization")

urlpatterns = router.urls
