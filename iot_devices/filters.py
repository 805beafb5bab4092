"""Query filters of the owner's lists (django-filter)."""

from __future__ import annotations

import django_filters

from .choices import AlertType, BatchStatus, DeviceStatus, DeviceType
from .models import DeviceAlert, DeviceDataBatch, IoTDevice


class DeviceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeviceStatus.choices)
    device_type = django_filters.ChoiceFilter(choices=DeviceType.choices)

    class Meta:
        model = IoTDevice
        fields = ["status", "device_type", "is_verified"]


class BatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BatchStatus.choices)

    class Meta:
        model = DeviceDataBatch
        fields = ["status"]


class AlertFilter(django_filters.FilterSet):
    # A plain UUID, not a model choice: a choice field would tell "no such device" from "not yours".
    device = django_filters.UUIDFilter(field_name="device_id")
    alert_type = django_filters.ChoiceFilter(choices=AlertType.choices)

    class Meta:
        model = DeviceAlert
        fields = ["device", "alert_type", "is_resolved"]
