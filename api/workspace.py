"""The staff workspace's API tokens page: list my tokens, create one (its secret shown once), revoke."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.models import ApiToken
from tickets.views.staff import staff_required

EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, label="Name (what it is for)")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")


@staff_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires"]
            expires_at = timezone.now() + timedelta(days=int(days)) if days else None
            try:
                _token, secret = tokens.token_create(
                    user=request.user,
                    scope=form.cleaned_data["scope"],
                    name=form.cleaned_data["name"],
                    expires_at=expires_at,
                )
                form = TokenForm()
            except ValidationError as exc:
                form.add_error(None, exc)
                status = 422
        else:
            status = 422
    context = {"form": form, "secret": secret, "tokens": tokens.tokens_of(request.user), "now": timezone.now()}
    return render(request, "staff/api_tokens.html", context, status=status)


@staff_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.token_revoke(token=token, by=request.user)
    return redirect("staff:api_tokens")
