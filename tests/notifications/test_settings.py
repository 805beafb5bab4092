"""Notification settings read from the environment at start: the SMS provider's, and the contact quotas."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

SETTING = "from django.conf import settings; print(settings.{name})"


def start(name: str, **environ: str) -> subprocess.CompletedProcess:
    """Load the base settings in a fresh interpreter with ENVIRON and print setting NAME."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMS_", "NOTIFICATIONS_"))}
    env.update(environ, DJANGO_SETTINGS_MODULE="jeghealth_backend.settings.base")
    code = "import django; django.setup(); " + SETTING.format(name=name)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )


def test_the_former_quota_names_are_still_read():
    started = start("NOTIFICATIONS_CONTACT_MESSAGES_PER_DAY", NOTIFICATIONS_CONTACT_EMAILS_PER_DAY="4")

    assert started.stdout.strip() == "4"


def test_the_new_quota_name_wins_over_the_former_one():
    started = start(
        "NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY",
        NOTIFICATIONS_CONTACT_MESSAGES_PER_CONTACT_PER_DAY="2",
        NOTIFICATIONS_CONTACT_EMAILS_PER_CONTACT_PER_DAY="7",
    )

    assert started.stdout.strip() == "2"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SMS_API_URL": "ftp://sms.example.org/Messages.json", "SMS_FROM": "+15005550006"}, "http(s) URL"),
        ({"SMS_API_URL": "https://sms.example.org/Messages.json"}, "SMS_FROM is required"),
        (
            {"SMS_API_URL": "https://sms.example.org/Messages.json", "SMS_FROM": "+1500", "SMS_API_TOKEN": "nocolon"},
            "<user>:<password>",
        ),
        ({"SMS_API_TIMEOUT": "0"}, "SMS_API_TIMEOUT"),
    ],
    ids=["scheme", "no-sender", "token-shape", "timeout"],
)
def test_a_bad_sms_setting_refuses_to_start(environ, message):
    started = start("SMS_API_URL", **environ)

    assert started.returncode != 0 and "ImproperlyConfigured" in started.stderr and message in started.stderr
