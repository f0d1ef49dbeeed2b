"""Leads manage staff in the workspace: invite by email (a set-password link), change role, deactivate.
Agents get 403."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import StaffFactory
from tickets import people

pytestmark = pytest.mark.django_db
User = get_user_model()

PAGES = [
    ("get", "staff:people", False),
    ("post", "staff:people", False),
    ("post", "staff:person_role", True),
    ("post", "staff:person_active", True),
]


@pytest.mark.parametrize(("method", "name", "with_pk"), PAGES)
def test_an_agent_gets_403_on_the_people_pages(client, staff, method, name, with_pk):
    other = StaffFactory()
    url = reverse(name, args=[other.pk] if with_pk else [])
    response = getattr(client, method)(url, {"role": "lead", "active": "0", "email": "x@example.com"})
    assert response.status_code == 403
    other.refresh_from_db()
    assert other.is_active and not other.groups.exists()
    assert not User.objects.filter(email="x@example.com").exists()


def test_a_lead_invites_an_agent_and_the_link_sets_a_password(
    client, lead, jobs, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://desk.example:8123"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff:people"), {"email": "New.Agent@Example.com", "first_name": "Nia", "role": "agent"}
        )
    assert response.status_code == 302
    invited = User.objects.get(email="new.agent@example.com")
    assert invited.is_staff and invited.is_active and not invited.has_usable_password()
    assert people.role_of(invited) == people.AGENT

    jobs.run()
    (mail,) = mailoutbox
    assert mail.to == ["new.agent@example.com"]
    link = re.search(r"http://desk\.example:8123(/accounts/reset/\S+/)", mail.body).group(1)

    visitor = Client()
    form = visitor.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = visitor.post(
        form.redirect_chain[-1][0], {"new_password1": "s3cret-Pass-99", "new_password2": "s3cret-Pass-99"}
    )
    assert done.status_code == 302
    invited.refresh_from_db()
    assert invited.check_password("s3cret-Pass-99")
    signed_in = Client().post(reverse("login"), {"username": "new.agent@example.com", "password": "s3cret-Pass-99"})
    assert signed_in.status_code == 302
    # The link works once: the new password changed what its token was made from.
    assert not Client().get(link, follow=True).context["validlink"]


def test_inviting_an_existing_email_is_a_form_error(client, lead, jobs):
    StaffFactory(username="taken@example.com")
    response = client.post(reverse("staff:people"), {"email": "TAKEN@example.com", "role": "agent"})
    assert response.status_code == 422
    assert "already has an account" in response.content.decode()
    assert jobs == []


def test_a_bad_role_is_refused_with_a_reason(client, lead):
    other = StaffFactory()
    response = client.post(reverse("staff:person_role", args=[other.pk]), {"role": "superuser"})
    assert response.status_code == 422
    assert not other.groups.exists()


def test_a_lead_changes_a_role_and_deactivates_an_agent(client, lead):
    agent = StaffFactory()
    client.post(reverse("staff:person_role", args=[agent.pk]), {"role": "lead"})
    assert people.role_of(agent) == people.LEAD and people.is_lead(agent)
    client.post(reverse("staff:person_role", args=[agent.pk]), {"role": "agent"})
    assert people.role_of(User.objects.get(pk=agent.pk)) == people.AGENT
    client.post(reverse("staff:person_active", args=[agent.pk]), {"active": "0"})
    agent.refresh_from_db()
    assert not agent.is_active
    page = client.get(reverse("staff:people")).content.decode()
    assert "Reactivate" in page


def test_a_lead_cannot_demote_or_deactivate_themselves(client, lead):
    response = client.post(reverse("staff:person_active", args=[lead.pk]), {"active": "0"})
    assert response.status_code == 422
    lead.refresh_from_db()
    assert lead.is_active and people.is_lead(lead)


def test_a_deactivated_agent_can_no_longer_use_the_workspace(client, lead):
    agent = StaffFactory()
    people.staff_set_active(user=agent, active=False, by=lead)
    other = Client()
    other.force_login(agent)
    assert other.get(reverse("staff:inbox")).status_code in (302, 403)
