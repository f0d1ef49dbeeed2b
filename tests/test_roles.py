import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from assistants.models import Thread
from tests.factories import StaffFactory, User, open_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def member(group_name, client):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=group_name))
    client.force_login(user)
    return user


def actions_offered(client, url):
    response = client.get(reverse(url))
    assert response.status_code == 200
    return {name for name, _label in response.context["action_form"].fields["action"].choices if name}


LIFECYCLE_ACTIONS = {"archive_threads", "delete_remote", "retry_remote_deletion"}


def test_migration_creates_both_groups_with_their_permissions():
    agent = set(Group.objects.get(name="Support agent").permissions.values_list("codename", flat=True))
    lead = set(Group.objects.get(name="Support lead").permissions.values_list("codename", flat=True))
    assert {"view_ticket", "change_ticket", "view_thread", "change_thread", "add_message"} <= agent
    assert not {p for p in agent if p.startswith("delete_")}
    assert "manage_thread_lifecycle" not in agent
    assert {"delete_ticket", "delete_thread", "change_run", "manage_thread_lifecycle"} <= lead


def test_agent_sees_ticket_admin_without_delete_or_lifecycle_actions(client):
    member("Support agent", client)
    offered = actions_offered(client, "admin:tickets_ticket_changelist")
    assert "escalate" in offered and "ai_mode_draft" in offered
    assert not offered & LIFECYCLE_ACTIONS
    assert "delete_selected" not in offered
    assert not actions_offered(client, "admin:assistants_thread_changelist") & LIFECYCLE_ACTIONS


def test_agent_cannot_delete_a_ticket_or_run_a_lifecycle_action_by_posting(client):
    member("Support agent", client)
    ticket = open_ticket()
    response = client.post(reverse("admin:tickets_ticket_delete", args=[ticket.pk]), {"post": "yes"})
    assert response.status_code == 403
    client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "archive_threads", "_selected_action": [ticket.pk]},
    )
    assert Thread.objects.get(pk=ticket.thread_id).state == Thread.State.ACTIVE
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_lead_can_run_lifecycle_actions_and_delete(client):
    member("Support lead", client)
    offered = actions_offered(client, "admin:tickets_ticket_changelist")
    assert offered >= LIFECYCLE_ACTIONS and "delete_selected" in offered
    ticket = open_ticket()
    client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "archive_threads", "_selected_action": [ticket.pk]},
    )
    assert Thread.objects.get(pk=ticket.thread_id).state == Thread.State.ARCHIVED
    response = client.post(reverse("admin:tickets_ticket_delete", args=[ticket.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not Thread.objects.filter(pk=ticket.thread_id).exists()  # no orphaned thread


def test_run_admin_is_read_only_even_for_a_lead(client):
    member("Support lead", client)
    ticket = open_ticket()
    run = ticket.thread.runs.first()
    response = client.get(reverse("admin:assistants_run_change", args=[run.pk]))
    assert response.status_code == 200 and b'name="_save"' not in response.content
    assert client.post(reverse("admin:assistants_run_delete", args=[run.pk]), {"post": "yes"}).status_code == 403


def test_seed_demo_gives_the_demo_staff_their_groups_and_no_superuser(capsys, without_embeddings):
    call_command("seed_demo")  # lexical only: embedding the demo articles takes ~40 s and is not what this checks
    lead = User.objects.get(username="lead@example.com")
    agent = User.objects.get(username="agent@example.com")
    assert list(lead.groups.values_list("name", flat=True)) == ["Support lead"]
    assert list(agent.groups.values_list("name", flat=True)) == ["Support agent"]
    assert not lead.is_superuser and lead.is_staff
    assert lead.has_perm("assistants.manage_thread_lifecycle")
    assert not agent.has_perm("assistants.manage_thread_lifecycle")


# --- staff accounts in the admin, for a lead who is not a superuser (migration 0012) ------------


def _lead(client):
    lead = member("Support lead", client)
    assert not lead.is_superuser
    return lead


def _change_form(user, **fields):
    """What the admin's change form posts for `user` (the lead's fields), with `fields` on top."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    return {**data, **fields}


def test_a_lead_sees_users_and_groups_in_the_admin(client):
    _lead(client)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 200
    group = Group.objects.get(name="Support agent")
    page = client.get(reverse("admin:auth_group_change", args=[group.pk]))
    assert page.status_code == 200 and 'name="permissions"' not in page.content.decode()  # view only


def test_a_lead_adds_an_agent_in_the_admin(client):
    _lead(client)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "new.agent@example.com",
            "usable_password": "true",
            "password1": "Blue-Parcel-92",
            "password2": "Blue-Parcel-92",
        },
    )
    assert response.status_code == 302
    agent = User.objects.get(username="new.agent@example.com")
    page = client.get(reverse("admin:auth_user_change", args=[agent.pk])).content.decode()
    assert 'name="is_staff"' in page and 'name="is_superuser"' not in page and 'name="user_permissions"' not in page
    group = Group.objects.get(name="Support agent")
    response = client.post(
        reverse("admin:auth_user_change", args=[agent.pk]),
        _change_form(agent, email="new.agent@example.com", is_staff="on", groups=[group.pk]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent.refresh_from_db()
    assert agent.is_staff and list(agent.groups.all()) == [group] and agent.check_password("Blue-Parcel-92")


def test_a_lead_cannot_make_anyone_a_superuser_or_give_permissions_or_other_groups(client):
    from django.contrib.auth.models import Permission

    _lead(client)
    agent = StaffFactory()
    everything = Group.objects.create(name="Everything")
    everything.permissions.set(Permission.objects.all())
    response = client.post(
        reverse("admin:auth_user_change", args=[agent.pk]),
        _change_form(
            agent,
            is_staff="on",
            is_superuser="on",
            user_permissions=[Permission.objects.get(codename="delete_user").pk],
        ),
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert not agent.is_superuser and not agent.user_permissions.exists()
    response = client.post(
        reverse("admin:auth_user_change", args=[agent.pk]), _change_form(agent, is_staff="on", groups=[everything.pk])
    )
    assert response.status_code == 200  # the form again, with the error: not one of the choices
    assert not agent.groups.exists()


def test_a_lead_cannot_see_or_change_a_superuser(client):
    _lead(client)
    boss = User.objects.create_superuser(username="boss@example.com", email="boss@example.com", password="x" * 12)
    assert "boss@example.com" not in client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert client.get(reverse("admin:auth_user_change", args=[boss.pk])).status_code in (302, 403, 404)
    client.post(reverse("admin:auth_user_change", args=[boss.pk]), _change_form(boss, is_staff="on"))
    client.post(
        reverse("admin:auth_user_password_change", args=[boss.pk]),
        {"password1": "taken-over-1", "password2": "taken-over-1"},
    )
    boss.refresh_from_db()
    assert boss.is_superuser and boss.is_active and boss.check_password("x" * 12)
    assert client.get(reverse("admin:auth_user_password_change", args=[boss.pk])).status_code == 404
