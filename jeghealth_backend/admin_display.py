"""What the admins of every app show alike: short ids in list columns, and time zones as a choice.

A UUID is 36 characters of noise in a list; its first 8 are enough to tell rows apart on a page, and the admin's
search finds a row by them (UUID lookups match a prefix of the text form). The change page shows the whole id.
"""

from __future__ import annotations

import functools
import zoneinfo

from django import forms
from django.contrib import admin

SHORT_ID_LENGTH = 8


def _short(value) -> str:
    return str(value)[:SHORT_ID_LENGTH] if value else "-"


@admin.display(description="ID", ordering="pk")
def short_id(obj) -> str:
    return _short(obj.pk)


def short_column(attribute: str, description: str):
    """A list column with the short form of ATTRIBUTE (a UUID field, or a foreign key's `<name>_id`)."""
    ordering = attribute.removesuffix("_id")

    @admin.display(description=description, ordering=ordering)
    def column(obj) -> str:
        return _short(getattr(obj, attribute))

    return column


@functools.cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class TimezoneChoiceField(forms.ChoiceField):
    """An IANA time zone picked from the list, not typed (a typo would be refused only on save)."""

    def __init__(self, **kwargs):
        kwargs.pop("max_length", None)
        super().__init__(choices=timezone_choices, **kwargs)


class TimezoneChoiceMixin:
    """For a ModelAdmin or an inline: the fields named in `timezone_fields` are a choice of IANA time zones."""

    timezone_fields: tuple[str, ...] = ("timezone",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.timezone_fields:
            return TimezoneChoiceField(
                required=not db_field.blank,
                initial=db_field.get_default(),
                label=db_field.verbose_name.capitalize(),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
