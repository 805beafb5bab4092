"""Recompute summary rollups from the readings: after readings were loaded without `metrics_changed` (a raw
COPY, a restore), or to check the nightly reconciliation's work. Idempotent; safe while the API serves."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from health_metrics.models import HealthMetric
from health_metrics.summaries import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the daily, weekly and monthly rollups of one person (--user) or of everybody."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="The person's id (UUID); everybody with readings when left out.")

    def handle(self, *args, user=None, **options):
        people = [user] if user else HealthMetric.objects.values_list("user_id", flat=True).distinct().order_by()
        count = 0
        for user_id in people:
            rollups_rebuild(user_id=user_id)
            count += 1
        self.stdout.write(f"rebuilt the rollups of {count} people")
