from django import forms

from webhooks.models import EventType


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=500, label="URL")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    include_internal_notes = forms.BooleanField(
        required=False,
        label="Include internal notes",
        help_text="Off: message.created is sent for public messages only.",
    )
