"""Who manages webhooks: support leads (the group the roles migration made) and superusers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from tickets.people import LEAD, ROLE_GROUPS, is_lead  # the one rule for who is a lead

LEAD_GROUP = ROLE_GROUPS[LEAD]


# The workspace navigation shows the webhooks page to leads. It reads this flag from the session
# (loaded for every signed-in page anyway), so no page pays a query for it: set at sign-in and
# refreshed whenever the webhooks page checks the role (the page itself always checks).
NAV_SESSION_KEY = "nav_is_lead"


def remember_lead(request, user) -> bool:
    lead = is_lead(user)
    if request.session.get(NAV_SESSION_KEY) != lead:
        request.session[NAV_SESSION_KEY] = lead
    return lead


def on_login(sender, request, user, **kwargs) -> None:
    if request is not None and getattr(user, "is_staff", False):
        remember_lead(request, user)


def leads():
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(groups__name=LEAD_GROUP) | Q(is_superuser=True))
    )
