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


class BatchStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"


FINAL_BATCH_STATUSES = (BatchStatus.COMPLETED, BatchStatus.PARTIALLY_FAILED, BatchStatus.FAILED)


class AlertType(models.TextChoices):
    OFFLINE = "offline", "Offline"
    LOW_BATTERY = "low_battery", "Low battery"
    ERROR = "error", "Error"
    SYNC_FAILURE = "sync_failure", "Sync failure"


class AlertSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class HeartbeatStatus(models.TextChoices):
    """What a device may report about itself in a heartbeat."""

    ACTIVE = "active", "Active"
    ERROR = "error", "Error"
