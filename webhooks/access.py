"""Who manages webhooks: support leads (the group the roles migration made) and superusers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

LEAD_GROUP = "Support lead"


def is_lead(user) -> bool:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=LEAD_GROUP).exists()


def leads():
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(groups__name=LEAD_GROUP) | Q(is_superuser=True))
    )
