"""Forms of the staff workspace. They parse and check input; the services do the work."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from assistants.models import Thread
from config import parsing
from tickets.forms.uploads import MultipleFileField
from tickets.models import Ticket
from tickets.selectors import SORTS, InboxFilters

User = get_user_model()

STATUS_FILTERS = [("open", "Open"), ("all", "All"), *Ticket.Status.choices]
AI_FILTERS = [
    ("", "Any"),
    (Thread.AIState.DRAFT_WAITING, "Draft waiting"),
    (Thread.AIState.FAILED, "Run failed"),
    (Thread.AIState.RUNNING, "Running"),
]
SORT_CHOICES = [("updated", "Last activity"), ("created", "Newest"), ("priority", "Priority")]


class InboxFilterForm(forms.Form):
    """The inbox's query string. A value that does not parse falls back to its default."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    priority = forms.TypedChoiceField(
        choices=[("", "Any"), *Ticket.Priority.choices], coerce=int, empty_value=None, required=False
    )
    assignee = forms.CharField(required=False)
    escalated = forms.ChoiceField(choices=[("", "Any"), ("yes", "Escalated"), ("no", "Not escalated")], required=False)
    ai = forms.ChoiceField(choices=AI_FILTERS, required=False, label="Assistant")
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def clean_assignee(self):
        value = self.cleaned_data["assignee"] or "anyone"
        if value in ("anyone", "me", "none"):
            return value
        pk = parsing.object_id(value)
        if pk is None:
            raise ValidationError("Choose me, unassigned, anyone or a person.")
        return str(pk)

    def filters(self) -> InboxFilters:
        data = {}
        if self.is_bound:
            self.is_valid()
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        escalated = {"yes": True, "no": False}.get(data.get("escalated") or "")
        sort = data.get("sort") or "updated"
        return InboxFilters(
            status=data.get("status") or "open",
            priority=data.get("priority"),
            assignee=data.get("assignee") or "anyone",
            escalated=escalated,
            ai_state=data.get("ai") or "",
            q=(data.get("q") or "").strip(),
            sort=sort if sort in SORTS else "updated",
        )


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, strip=True)
    internal = forms.BooleanField(required=False, label="Internal note (staff only)")
    files = MultipleFileField(label="Attachments")

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError("Write something first.")
        return body


class DraftApproveForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=20000)


class TicketUpdateForm(forms.Form):
    """Only the fields present in the POST are changed."""

    status = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = forms.TypedChoiceField(choices=Ticket.Priority.choices, coerce=int, required=False, empty_value=None)
    assignee = forms.CharField(required=False)  # "me", "none" or a staff user's pk
    ai_mode = forms.ChoiceField(choices=Ticket.AIMode.choices, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_assignee(self):
        value = (self.cleaned_data.get("assignee") or "").strip()
        if not value:
            return None
        if value == "me":
            return self.user
        if value == "none":
            return "none"
        pk = parsing.object_id(value)
        staff = User.objects.filter(pk=pk, is_staff=True).first() if pk is not None else None
        if staff is None:
            raise ValidationError("Choose a member of staff.")
        return staff

    def changes(self) -> dict:
        """The service's keyword arguments: only what was sent."""
        changes = {}
        for name in ("status", "priority", "ai_mode"):
            if name in self.data and self.cleaned_data.get(name) not in (None, ""):
                changes[name] = self.cleaned_data[name]
        assignee = self.cleaned_data.get("assignee")
        if assignee is not None:
            changes["assignee"] = None if assignee == "none" else assignee
        return changes


class EscalateForm(forms.Form):
    reason = forms.CharField(max_length=300, strip=True, error_messages={"required": "Say why, for the record."})


class RedactForm(forms.Form):
    """Why a message or an attachment is removed (kept in the audit log)."""

    reason = forms.CharField(max_length=300, strip=True, error_messages={"required": "Say why this is removed."})
