import django_filters

from .choices import Frequency
from .models import Medication, Regimen
from .selectors import medication_search


class MedicationFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Part of a generic name, synonym or brand name (any case)."
    )
    category = django_filters.UUIDFilter(field_name="category_id")
    atc_code = django_filters.CharFilter(field_name="atc_code", lookup_expr="istartswith", label="ATC code prefix.")

    class Meta:
        model = Medication
        fields = ["search", "category", "atc_code"]

    def filter_search(self, queryset, name, value):
        return medication_search(queryset, value)


class RegimenFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()
    frequency = django_filters.ChoiceFilter(choices=Frequency.choices)

    class Meta:
        model = Regimen
        fields = ["is_active", "frequency"]
