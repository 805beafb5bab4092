"""No Django admin page shows a usable secret (issue 17, point 1): every registered admin's list and change pages
are crawled as a superuser, with one of every secret the service holds, and none of them may appear."""

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from tests.accounts.factories import PASSWORD, enrol_totp
from tests.iot_devices.factories import pair_device
from tests.notifications.factories import PushTokenFactory

pytestmark = pytest.mark.django_db

PAGES_PER_MODEL = 25


@pytest.fixture
def secrets(anon, client_a, user_a, user_b, mailoutbox, django_capture_on_commit_callbacks) -> dict[str, str]:
    """One of each: refresh and access tokens (issued now, rotated, and a stock simplejwt one stored with its text),
    a TOTP secret, recovery codes, a sign-in challenge, a calendar feed token, a device key and pairing code, a push
    token and an e-mail verification token."""
    found = {}
    rotated = anon.post("/api/v1/auth/token/refresh/", {"refresh": client_a.tokens["refresh"]}).json()
    found |= {"refresh": client_a.tokens["refresh"], "access": client_a.tokens["access"]}
    found |= {"rotated_refresh": rotated["refresh"], "rotated_access": rotated["access"]}
    found["stock_refresh"] = str(RefreshToken.for_user(user_b))
    secret, codes = enrol_totp(user_b)
    found["totp_secret"] = secret
    found |= {f"recovery_code_{i}": code for i, code in enumerate(codes)}
    found["challenge"] = anon.post("/api/v1/auth/login/", {"email": user_b.email, "password": PASSWORD}).json()[
        "challenge"
    ]
    feed = client_a.get("/api/v1/appointments/calendar/").json()["url"]
    found["calendar_token"] = feed.rsplit("/", 1)[1].removesuffix(".ics")
    device = pair_device(user_a, verified=False)
    found |= {"device_key": device.api_key, "pairing_code": device.verification_code}
    found["push_token"] = PushTokenFactory(user=user_a).token
    with django_capture_on_commit_callbacks(execute=True):
        services.email_verification_send(user=user_a)
    found["verification_token"] = mailoutbox[-1].body.split("token=", 1)[1].split()[0]
    assert OutstandingToken.objects.filter(token=found["stock_refresh"]).exists()  # the leak being guarded against
    assert BlacklistedToken.objects.exists()
    return found


def admin_pages():
    """(name, URL) of every registered ModelAdmin's changelist, and of the change page of each of its rows."""
    for model in admin.site._registry:
        opts = model._meta
        yield opts.label, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for pk in model.objects.values_list("pk", flat=True)[:PAGES_PER_MODEL]:
            yield opts.label, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def test_no_admin_page_shows_a_secret(client, admin_user, secrets):
    client.force_login(admin_user)
    crawled, leaks = 0, []

    for label, url in list(admin_pages()):
        r = client.get(url)
        assert r.status_code == 200, f"{label}: {url} answered {r.status_code}"
        page = r.content.decode()
        leaks += [f"{name} on {url}" for name, value in secrets.items() if value in page]
        crawled += 1

    assert not leaks, leaks
    assert crawled > 40  # every admin's list, and the rows made above


def test_the_token_pages_show_the_jti(client, admin_user, secrets):
    client.force_login(admin_user)
    token = OutstandingToken.objects.get(token=secrets["stock_refresh"])

    page = client.get(reverse("admin:token_blacklist_outstandingtoken_change", args=[token.pk])).content.decode()

    assert token.jti in page and secrets["stock_refresh"] not in page


def test_an_admin_can_turn_off_a_persons_mfa_and_it_is_recorded(client, admin_user, user_b):
    enrol_totp(user_b)
    client.force_login(admin_user)

    r = client.post(
        reverse("admin:accounts_totpdevice_changelist"), {"action": "reset", "_selected_action": [str(user_b.pk)]}
    )

    assert r.status_code == 302
    assert not user_b.__class__.objects.get(pk=user_b.pk).recovery_codes.exists()
    assert user_b.security_events.filter(event_type="mfa_disabled", metadata__by_admin=str(admin_user.pk)).exists()
