"""The project's URLs plus the bench's reference: a bare Django view running the reading list's indexed query.

`/bench/bare-list/?user=<id>&limit=20`: the count and one page of one person's readings, newest first,
serialised with orjson. No DRF, no authentication, no serializer: the floor the list endpoint is compared with.
"""

import orjson
from django.http import HttpResponse
from django.urls import path

from health_metrics.models import HealthMetric
from jeghealth_backend.urls import urlpatterns as project_urlpatterns

FIELDS = ("id", "metric_type", "value", "systolic_value", "diastolic_value", "unit", "recorded_at", "source",
          "device_id", "is_anomaly", "notes", "metadata")  # fmt: skip


def bare_list(request):
    readings = HealthMetric.objects.filter(user_id=request.GET["user"])
    limit = int(request.GET.get("limit", 20))
    page = list(readings.order_by("-recorded_at", "-created_at").values(*FIELDS)[:limit])
    body = {"count": readings.count(), "results": page}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


urlpatterns = [*project_urlpatterns, path("bench/bare-list/", bare_list)]
