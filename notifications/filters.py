from __future__ import annotations

import django_filters

from .choices import Category
from .models import Notification


class NotificationFilter(django_filters.FilterSet):
    is_read = django_filters.BooleanFilter()
    category = django_filters.ChoiceFilter(choices=Category.choices)

    class Meta:
        model = Notification
        fields = ["is_read", "category"]
