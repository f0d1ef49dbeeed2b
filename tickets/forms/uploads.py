"""The attachments field of every composer (portal and staff): the limits are services' rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from tickets import services


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more files; their number and each one checked before anything is stored."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > services.MAX_FILES_PER_MESSAGE:
            raise ValidationError(f"Attach at most {services.MAX_FILES_PER_MESSAGE} files.")
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
