from django.db import models


class DeviceType(models.TextChoices):
    SMARTWATCH = "smartwatch", "Smartwatch"
    FITNESS_TRACKER = "fitness_tracker", "Fitness tracker"
    BLOOD_PRESSURE_MONITOR = "blood_pressure_monitor", "Blood pressure monitor"
    GLUCOSE_METER = "glucose_meter", "Glucose meter"
    SMART_SCALE = "smart_scale", "Smart scale"
    THERMOMETER = "thermometer", "Thermometer"
    PULSE_OXIMETER = "pulse_oximeter", "Pulse oximeter"
    OTHER = "other", "Other"


class DeviceStatus(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ERROR = "error", "Error"
    REVOKED = "revoked", "Revoked"
