"""`manage.py seed_demo` (and `make demo`): demo accounts and 90 days of data, safe to run again."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from demo import seed as demo


class Command(BaseCommand):
    help = (
        "Create a demo patient, doctor and admin with fixed e-mails and 90 days of data (readings of every type, "
        "a paired smartwatch, targets, medications with their dose history, appointments, a care-team grant). "
        "Running it again adds nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="Days of history up to today (default 90).")
        parser.add_argument("--password", default=demo.DEFAULT_PASSWORD, help="The three accounts' password.")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (the accounts have a known password)."
        )

    def handle(self, *args, days: int, password: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo makes accounts with a known password: run it with DEBUG on, or pass --force on a "
                "deployment that is only a demo."
            )
        if not 1 <= days <= 366:
            raise CommandError("--days must be between 1 and 366.")
        try:
            result = demo.seed(days=days, password=password)
        except ValidationError as exc:
            raise CommandError(f"The password is refused: {' '.join(exc.messages)}") from exc
        base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        counts = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in result.counts.items())
        lines = [
            self.style.SUCCESS(f"Demo data ready: {result.days} days up to today ({counts} added by this run)."),
            "",
            f"  patient  {demo.PATIENT_EMAIL:<34} password {result.password}",
            f"  doctor   {demo.DOCTOR_EMAIL:<34} password {result.password}  (care team of the patient)",
            f"  admin    {demo.ADMIN_EMAIL:<34} password {result.password}  (Django admin: {base}/admin/)",
            "",
            "Log in (the answer holds an access token):",
            f"  curl -s -X POST {base}/api/v1/auth/login/ -H 'Content-Type: application/json' \\",
            f'       -d \'{{"email": "{demo.PATIENT_EMAIL}", "password": "{result.password}"}}\'',
            f"Then with 'Authorization: Bearer <access>': {base}/api/v1/dashboard/, {base}/api/v1/insights/,",
            f"  {base}/api/v1/health-metrics/export/?format=fhir, or POST {base}/api/v1/reports/",
            f"As the doctor, read the patient's data with ?patient={result.patient.pk}",
            "The doctor and the admin turn on two-factor authentication first (MFA_REQUIRED_ROLES): their login/",
            "  answers a token for auth/mfa/totp/ only, and the Django admin asks for the code.",
            f"API docs: {base}/api/docs/",
        ]
        self.stdout.write("\n".join(lines))
