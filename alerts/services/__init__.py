"""Writes of alerts. Other apps call these entry points, passing facts (alerts.facts), never their models.

- readings.py: `readings_judged`, the reading rules (clinical, personal, baseline) and the digest of old readings.
- conditions.py: device conditions (offline, low battery) and missed doses.
- critical.py: reminders and the escalation of critical episodes (beat), and acknowledgement.
- thresholds.py: the person's own thresholds.
- episodes.py: what every rule shares: open, collect, close, tell.
"""

from .conditions import device_condition_changed, device_forgotten, dose_taken, doses_missed
from .critical import DueWork, episode_acknowledge, episodes_run_due
from .episodes import EPISODE_GAP, MAX_REMINDERS
from .readings import JudgedUpload, readings_forgotten, readings_judged
from .thresholds import alert_threshold_create, alert_threshold_delete, alert_threshold_update

__all__ = [
    "EPISODE_GAP",
    "MAX_REMINDERS",
    "DueWork",
    "JudgedUpload",
    "alert_threshold_create",
    "alert_threshold_delete",
    "alert_threshold_update",
    "device_condition_changed",
    "device_forgotten",
    "dose_taken",
    "doses_missed",
    "episode_acknowledge",
    "episodes_run_due",
    "readings_forgotten",
    "readings_judged",
]
