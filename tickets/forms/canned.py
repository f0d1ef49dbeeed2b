"""The saved-reply form (workspace and admin): the placeholders are checked when it is saved."""

from __future__ import annotations

from django import forms

from tickets import canned
from tickets.models import CannedReply


class CannedReplyForm(forms.ModelForm):
    shared = forms.BooleanField(required=False, label="Shared with all staff (leads only)")

    class Meta:
        model = CannedReply
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def clean_body(self):
        body = self.cleaned_data["body"]
        canned.validate_placeholders(body)
        return body


class CannedReplyAdminForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body", "owner"]

    def clean_body(self):
        body = self.cleaned_data["body"]
        canned.validate_placeholders(body)
        return body
