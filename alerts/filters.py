from __future__ import annotations

import django_filters

from .choices import EpisodeStatus, Rule, Severity
from .models import AlertEpisode


class EpisodeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EpisodeStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    rule = django_filters.ChoiceFilter(choices=Rule.choices)

    class Meta:
        model = AlertEpisode
        fields = ["status", "severity", "rule"]
