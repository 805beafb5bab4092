"""A test-only URL conf: the real one, plus views under /api/ that fail in ways no real view should."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import UserRole

SECRET = "SELECT password FROM accounts_user -- sentinel-7f3a"


class ExplodingView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError(SECRET)

    def post(self, request):
        request.data  # noqa: B018 - the body is read, as a real view would, before it fails
        raise RuntimeError(SECRET)


def exploding_django_view(request):
    raise RuntimeError(SECRET)


class IntegerFilterView(APIView):
    """Filters a bigint key by a query parameter that no serializer bounded, as a careless filter would."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        found = UserRole.objects.filter(pk__in=[int(request.query_params["id"])]).exists()
        return Response({"found": found})


urlpatterns = [
    path("api/v1/test/explode/", ExplodingView.as_view()),
    path("api/v1/test/explode-django/", exploding_django_view),
    path("api/v1/test/integer-filter/", IntegerFilterView.as_view()),
    path("", include("jeghealth_backend.urls")),
]
