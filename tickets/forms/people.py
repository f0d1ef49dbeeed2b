"""Forms of the staff-management pages (leads only)."""

from __future__ import annotations

from django import forms

from tickets.people import ROLE_CHOICES


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="agent")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class ActiveForm(forms.Form):
    active = forms.TypedChoiceField(choices=[("1", "Active"), ("0", "Inactive")], coerce=lambda v: v == "1")
