"""Sign up, log in, log out and password reset, as a customer goes through them."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import CustomerFactory
from tickets.models import CustomerProfile

pytestmark = pytest.mark.django_db
User = get_user_model()


SIGNUP = {
    "first_name": "Ada",
    "email": "Ada@Example.com",
    "password1": "correct horse 42",
    "password2": "correct horse 42",
}


def _main(response) -> str:
    """What the page says (its <main>; the head's nonce and the CSRF token differ per response)."""
    return re.search(r"<main>.*</main>", response.content.decode(), re.DOTALL).group(0)


def _link(mail) -> str:
    return re.search(r"https?://[^/]+(/\S+)", mail.body).group(1)


def test_signing_up_emails_a_link_that_activates_the_account_logs_in_and_lands_on_my_tickets(client, mailoutbox):
    response = client.post(reverse("portal:signup"), SIGNUP)
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    user = User.objects.get(email="ada@example.com")
    assert not user.is_active and not user.is_staff
    assert CustomerProfile.objects.filter(user=user).exists()
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"] and mail.subject == "Confirm your help desk account"
    link = _link(mail)
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == reverse("portal:tickets")
    user.refresh_from_db()
    assert user.is_active
    assert client.get(reverse("portal:tickets")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(link).status_code == 400  # used once: logging in changed what the token signs


def test_signing_up_with_an_address_that_has_an_account_looks_the_same_and_tells_only_its_owner(client, mailoutbox):
    CustomerFactory(username="taken@example.com")
    new = client.post(reverse("portal:signup"), {**SIGNUP, "email": "fresh@example.com"})
    taken = client.post(reverse("portal:signup"), {**SIGNUP, "email": "TAKEN@example.com"})
    assert new.status_code == taken.status_code == 200
    assert _main(new).replace("fresh@example.com", "X") == _main(taken).replace("taken@example.com", "X")
    assert User.objects.filter(username__iexact="taken@example.com").count() == 1
    assert [m.to for m in mailoutbox] == [["fresh@example.com"], ["taken@example.com"]]
    assert "already has an account" in mailoutbox[1].body
    assert reverse("password_reset") in mailoutbox[1].body


def test_a_wrong_activation_link_activates_nothing(client, mailoutbox):
    client.post(reverse("portal:signup"), SIGNUP)
    link = _link(mailoutbox[0])
    assert client.get(link[:-3] + "xyz/").status_code == 400
    assert client.get("/portal/signup/%C2%B2/abc/").status_code == 400
    assert not User.objects.get(email="ada@example.com").is_active


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
        ({"email": "a@example.com", "password1": "48213975362", "password2": "48213975362"}, "entirely numeric"),
        (
            {
                "email": "margaret.hamilton@example.com",
                "password1": "margaret.hamilton",
                "password2": "margaret.hamilton",
            },
            "too similar",
        ),
    ],
)
def test_bad_signup_input_is_a_form_error(client, data, error):
    response = client.post(reverse("portal:signup"), data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not User.objects.exists()


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
    login = client.post(reverse("login"), {"username": "carol@example.com", "password": "brand new secret 7"})
    assert login.status_code == 302


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mailoutbox == []
