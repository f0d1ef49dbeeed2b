"""Sign up, log in, log out and password reset, as a customer goes through them."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import CustomerFactory
from tickets.models import CustomerProfile

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_signing_up_creates_a_customer_logs_in_and_lands_on_my_tickets(client):
    response = client.post(
        reverse("portal:signup"),
        {
            "first_name": "Ada",
            "email": "Ada@Example.com",
            "password1": "correct horse 42",
            "password2": "correct horse 42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:tickets")
    user = User.objects.get(email="ada@example.com")
    assert not user.is_staff
    assert CustomerProfile.objects.filter(user=user).exists()
    assert client.get(reverse("portal:tickets")).status_code == 200


def test_the_signup_url_is_under_the_portal(client):
    assert reverse("portal:signup") == "/portal/signup/"
    assert client.get(reverse("portal:signup")).status_code == 200


@pytest.mark.parametrize(
    "data, error",
    [
        ({"email": "not-an-email", "password1": "correct horse 42", "password2": "correct horse 42"}, "valid email"),
        ({"email": "a@example.com", "password1": "correct horse 42", "password2": "different 42"}, "passwords differ"),
        ({"email": "a@example.com", "password1": "short", "password2": "short"}, "too short"),
        ({"email": "a@example.com", "password1": "password", "password2": "password"}, "too common"),
    ],
)
def test_bad_signup_input_is_a_form_error(client, data, error):
    response = client.post(reverse("portal:signup"), data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not User.objects.exists()


def test_an_email_can_sign_up_only_once(client):
    CustomerFactory(username="taken@example.com")
    response = client.post(
        reverse("portal:signup"),
        {"email": "TAKEN@example.com", "password1": "correct horse 42", "password2": "correct horse 42"},
    )
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_log_in_and_log_out(client):
    CustomerFactory(username="bob@example.com")
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert reverse("password_reset") in page.content.decode()
    bad = client.post(reverse("login"), {"username": "bob@example.com", "password": "wrong"})
    assert "did not match" in bad.content.decode()
    response = client.post(reverse("login"), {"username": "bob@example.com", "password": "pass12345"})
    assert response.status_code == 302
    assert client.get(reverse("portal:tickets")).status_code == 200
    assert client.post(reverse("logout")).status_code in (200, 302)
    assert client.get(reverse("portal:tickets")).status_code == 302


def test_password_reset_sends_an_email_whose_link_sets_a_new_password(client, mailoutbox):
    CustomerFactory(username="carol@example.com")
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": "carol@example.com"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["carol@example.com"]
    assert mail.subject == "Reset your help desk password"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"new_password1": "brand new secret 7", "new_password2": "brand new secret 7"},
    )
    assert done.status_code == 302
    assert "Your password is changed" in client.get(done["Location"]).content.decode()
    assert client.login(username="carol@example.com", password="brand new secret 7")


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mailoutbox == []
