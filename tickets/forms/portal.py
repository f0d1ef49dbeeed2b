"""Customer portal forms. Upload limits come from tickets.services.validate_upload, the one rule."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError

from tickets import services

User = get_user_model()

MAX_FILES = 5


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more files; each one checked against the upload limits before anything is stored."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > MAX_FILES:
            raise ValidationError(f"Attach at most {MAX_FILES} files.")
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        errors = []
        for upload in cleaned:
            try:
                services.validate_upload(upload)
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


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


class ReplyForm(forms.Form):
    message = _message_field()
    attachments = MultipleFileField(label="Attachments")


RATING_CHOICES = [(str(Decimal(n) / 2), str(Decimal(n) / 2)) for n in range(2, 11)]


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES,
        coerce=Decimal,
        widget=forms.RadioSelect,
        error_messages={"required": "Pick a rating from 1 to 5.", "invalid_choice": "Pick a rating from 1 to 5."},
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class SignupForm(forms.Form):
    first_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField()
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
            raise ValidationError("An account with this email already exists. Log in or reset your password.")
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            candidate = User(username=cleaned.get("email") or "", email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(p1, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
