"""Customer portal forms. Upload limits come from tickets.services, the one rule (forms/uploads.py)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError

from config import parsing
from tickets.forms.uploads import MultipleFileField

User = get_user_model()


def _message_field() -> forms.CharField:
    return forms.CharField(
        label="Message",
        max_length=20000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write a message first."},
    )


class TicketOpenForm(forms.Form):
    subject = forms.CharField(max_length=200, strip=True, error_messages={"required": "Give your ticket a subject."})
    message = _message_field()
    attachments = MultipleFileField(label="Attachments")

    def clean_subject(self) -> str:
        subject = parsing.one_line(self.cleaned_data["subject"])  # line breaks become spaces
        if not subject:
            raise ValidationError("Give your ticket a subject.")
        return subject


class ReplyForm(forms.Form):
    message = _message_field()
    attachments = MultipleFileField(label="Attachments")


def rating_value(rating: Decimal | None) -> str | None:
    """A rating as the form's choices spell it: 4.0 -> "4", 4.5 -> "4.5" (the saved value then shows
    as selected)."""
    if rating is None:
        return None
    return str(int(rating)) if rating == int(rating) else str(rating.normalize())


def rating_choices(*, half_stars: bool) -> list[tuple[str, str]]:
    """1 to 5 stars; in half steps only when HELPDESK_RATING_HALF_STARS asks for them."""
    steps = [Decimal(n) / 2 for n in range(2, 11)] if half_stars else [Decimal(n) for n in range(1, 6)]
    return [(rating_value(step), f"{rating_value(step)} star{'' if step == 1 else 's'}") for step in steps]


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=(),
        coerce=Decimal,
        widget=forms.RadioSelect,
        error_messages={"required": "Pick a rating from 1 to 5.", "invalid_choice": "Pick a rating from 1 to 5."},
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = rating_choices(half_stars=settings.HELPDESK_RATING_HALF_STARS)


class SignupForm(forms.Form):
    first_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField()
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    def clean_first_name(self) -> str:
        return parsing.one_line(self.cleaned_data["first_name"])

    def clean_email(self) -> str:
        # Whether the address has an account is never said here (tickets/signup.py emails it).
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            email = cleaned.get("email") or ""
            candidate = User(username=email, email=email, first_name=cleaned.get("first_name") or "")
            try:
                password_validation.validate_password(p1, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
