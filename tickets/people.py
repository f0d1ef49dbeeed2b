"""Staff accounts, managed by support leads in the workspace (no superuser needed).

Roles are the two groups of migration 0002 (support agent, support lead). An invited agent gets an
account with no usable password and a set-password link made by Django's password-reset token
machinery: the link works once (setting the password changes the hash the token is made from) and
expires after PASSWORD_RESET_TIMEOUT.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tickets import notifications

User = get_user_model()

AGENT, LEAD = "agent", "lead"
ROLE_GROUPS = {AGENT: "Support agent", LEAD: "Support lead"}
ROLE_CHOICES = [(AGENT, "Agent"), (LEAD, "Lead")]


# --- reads -----------------------------------------------------------------------------------


def is_lead(user) -> bool:
    """The one rule for who manages staff and shared saved replies."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=ROLE_GROUPS[LEAD]).exists()


def role_of(user) -> str:
    names = {g.name for g in user.groups.all()}
    return LEAD if user.is_superuser or ROLE_GROUPS[LEAD] in names else AGENT


def staff_list():
    return User.objects.filter(is_staff=True).prefetch_related("groups").order_by("-is_active", "first_name", "email")


def set_password_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return settings.SITE_URL.rstrip("/") + path


# --- writes ----------------------------------------------------------------------------------


def _group(role: str) -> Group:
    if role not in ROLE_GROUPS:
        raise ValidationError(f"Unknown role {role!r}: agent or lead.")
    group, _ = Group.objects.get_or_create(name=ROLE_GROUPS[role])
    return group


@transaction.atomic
def staff_invite(*, email: str, first_name: str = "", last_name: str = "", role: str = AGENT, invited_by) -> User:
    """A new staff account with no usable password, and a mail with the link to set one."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise ValidationError("Someone with this email already has an account.")
    group = _group(role)
    user = User(username=email, email=email, first_name=first_name.strip(), last_name=last_name.strip(), is_staff=True)
    user.set_unusable_password()
    user.save()
    user.groups.add(group)
    inviter = invited_by.get_full_name() or invited_by.email
    body = (
        f"{inviter} invited you to the help desk's staff workspace.\n\n"
        f"Choose your password here (the link works once):\n{set_password_link(user)}\n\n"
        f"Then sign in with {email} at {settings.SITE_URL.rstrip('/')}{reverse('staff:inbox')}\n"
    )
    transaction.on_commit(
        partial(notifications.staff_mail, subject="You are invited to the help desk", body=body, recipients=[email])
    )
    return user


def _not_yourself(user, by) -> None:
    if user.pk == by.pk:
        raise ValidationError("You cannot change your own role or deactivate yourself; ask another lead.")


@transaction.atomic
def staff_set_role(*, user, role: str, by) -> None:
    _not_yourself(user, by)
    target = _group(role)
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS.values()).exclude(pk=target.pk))
    user.groups.add(target)


@transaction.atomic
def staff_set_active(*, user, active: bool, by) -> None:
    """Deactivate (they can no longer sign in; their tickets stay assigned for a lead to move) or
    reactivate a staff account."""
    _not_yourself(user, by)
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
