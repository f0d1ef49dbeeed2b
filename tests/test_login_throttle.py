"""Failed logins are throttled per account and per client address (django-axes), on the portal's
login and the admin's; password reset and sign-up are limited per client address."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import CustomerFactory, StaffFactory
from tickets import ratelimit

pytestmark = pytest.mark.django_db
User = get_user_model()
LOCKED = "Too many failed log-in attempts"


def _login(client, username, password, url=None, ip="10.0.0.1"):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _time_passes(minutes: int) -> None:
    """The lock is measured from the last failure: move every recorded failure back in time."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_the_11th_failed_login_is_refused_and_the_right_password_waits_for_the_lock_to_end(client):
    CustomerFactory(username="bob@example.com")
    for attempt in range(1, 10):
        response = _login(client, "bob@example.com", f"wrong{attempt}")
        assert response.status_code == 200 and "did not match" in response.content.decode()
    assert not _logged_in(client)
    _login(client, "bob@example.com", "wrong10")  # the 10th failure: the limit is reached
    eleventh = _login(client, "bob@example.com", "wrong11")
    assert eleventh.status_code == 429
    assert LOCKED in eleventh.content.decode() and "15 minutes" in eleventh.content.decode()

    right = _login(client, "bob@example.com", "pass12345")
    assert right.status_code == 429 and not _logged_in(client)
    _time_passes(14)
    assert _login(client, "bob@example.com", "pass12345").status_code == 429
    assert not _logged_in(client)

    _time_passes(2)  # 16 minutes after the last failure
    response = _login(client, "bob@example.com", "pass12345")
    assert response.status_code == 302 and _logged_in(client)


def test_the_account_is_locked_whatever_address_the_failures_come_from(client):
    CustomerFactory(username="bob@example.com")
    for i in range(10):
        _login(client, "Bob@Example.com ", "wrong", ip=f"10.0.1.{i}")
    response = _login(client, "bob@example.com", "pass12345", ip="10.0.2.1")
    assert response.status_code == 429 and not _logged_in(client)
    # Another account from a fresh address is not affected.
    CustomerFactory(username="carol@example.com")
    assert _login(client, "carol@example.com", "pass12345", ip="10.0.3.1").status_code == 302


def test_an_address_that_tries_many_accounts_is_locked_for_every_account(client):
    CustomerFactory(username="bob@example.com")
    for i in range(10):
        _login(client, f"guess{i}@example.com", "wrong", ip="10.9.9.9")
    response = _login(client, "bob@example.com", "pass12345", ip="10.9.9.9")
    assert response.status_code == 429 and not _logged_in(client)
    assert _login(client, "bob@example.com", "pass12345", ip="10.9.9.10").status_code == 302


def test_the_admin_login_is_throttled_the_same_way(client):
    StaffFactory(username="lead@example.com", is_superuser=True)
    url = reverse("admin:login")
    for _ in range(10):
        _login(client, "lead@example.com", "wrong", url=url)
    response = _login(client, "lead@example.com", "pass12345", url=url)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302  # still not logged in


def test_a_successful_login_resets_the_count(client):
    CustomerFactory(username="bob@example.com")
    for _ in range(9):
        _login(client, "bob@example.com", "wrong")
    assert _login(client, "bob@example.com", "pass12345").status_code == 302
    client.post(reverse("logout"))
    for _ in range(9):
        _login(client, "bob@example.com", "wrong")
    assert _login(client, "bob@example.com", "pass12345").status_code == 302


def test_a_huge_or_odd_username_is_a_failed_login_not_a_500(client):
    for username in ["x" * 5000, "\x00", "é" * 300, ""]:
        response = _login(client, username, "wrong")
        assert response.status_code in (200, 429)


def test_password_reset_requests_are_limited_per_client_address(client, mailoutbox, settings):
    CustomerFactory(username="carol@example.com")
    for _ in range(settings.HELPDESK_PASSWORD_RESETS_PER_HOUR):
        response = client.post(reverse("password_reset"), {"email": "carol@example.com"}, REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 302
    refused = client.post(reverse("password_reset"), {"email": "carol@example.com"}, REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert len(mailoutbox) == settings.HELPDESK_PASSWORD_RESETS_PER_HOUR
    other = client.post(reverse("password_reset"), {"email": "carol@example.com"}, REMOTE_ADDR="10.1.1.2")
    assert other.status_code == 302


def test_sign_ups_are_limited_per_client_address(client, settings, mailoutbox):
    settings.HELPDESK_SIGNUPS_PER_HOUR = 3
    for i in range(3):
        data = {"email": f"new{i}@example.com", "password1": "correct horse 42", "password2": "correct horse 42"}
        assert client.post(reverse("portal:signup"), data, REMOTE_ADDR="10.2.2.2").status_code == 200
    data = {"email": "new9@example.com", "password1": "correct horse 42", "password2": "correct horse 42"}
    refused = client.post(reverse("portal:signup"), data, REMOTE_ADDR="10.2.2.2")
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert not User.objects.filter(email="new9@example.com").exists()
    assert len(mailoutbox) == 3


def test_the_client_address_behind_trusted_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert ratelimit.client_address(request) == "10.0.0.5"  # no proxy: the header is the client's own
    settings.TRUSTED_PROXY_COUNT = 1
    assert ratelimit.client_address(request) == "203.0.113.7"  # the one our proxy appended
    settings.TRUSTED_PROXY_COUNT = 3
    assert ratelimit.client_address(request) == "10.0.0.5"  # fewer entries than proxies: not trusted
    odd = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    assert ratelimit.client_address(odd) == "0.0.0.0"
