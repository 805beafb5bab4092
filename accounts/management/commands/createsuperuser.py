"""Django's `createsuperuser`, plus the optional names that API.md's configuration lists.

`--noinput` reads only USERNAME_FIELD, the password and REQUIRED_FIELDS from `DJANGO_SUPERUSER_*`; the names are
not required, so `DJANGO_SUPERUSER_FIRST_NAME` and `…_LAST_NAME` are applied here once the account exists.
"""

from __future__ import annotations

import os

from django.contrib.auth.management.commands import createsuperuser

from accounts import services
from accounts.models import User, normalize_email

NAME_FIELDS = ("first_name", "last_name")


class Command(createsuperuser.Command):
    def handle(self, *args, **options) -> None:
        super().handle(*args, **options)
        if options["interactive"]:
            return
        names = {field: os.environ.get(f"DJANGO_SUPERUSER_{field.upper()}", "") for field in NAME_FIELDS}
        names = {field: value for field, value in names.items() if value}
        email = options.get(User.USERNAME_FIELD) or os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        if not names or not email:
            return
        user = User.objects.db_manager(options["database"]).get(email=normalize_email(email))
        services.user_update(user=user, data=names)
