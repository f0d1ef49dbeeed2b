"""The API tokens pages: a staff member's in the workspace, a customer's in the portal. Both list my
tokens, create one (its secret shown once) and revoke one, through api.tokens; only the page around
them and who may open it differ."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
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


def _token_page(request, template: str, **context):
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
    context.update(form=form, secret=secret, tokens=tokens.tokens_of(request.user), now=timezone.now())
    return render(request, template, context, status=status)


def _revoke(request, pk: int) -> None:
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.token_revoke(token=token, by=request.user)


# --- staff -------------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    return _token_page(
        request, "staff/api_tokens.html", create_url="staff:api_tokens", revoke_url="staff:api_token_revoke"
    )


@staff_required
@require_POST
def token_revoke(request, pk: int):
    _revoke(request, pk)
    return redirect("staff:api_tokens")


# --- customers (the portal) --------------------------------------------------------------------


def customer_required(view):
    """Signed-in customers; staff have their own page in the workspace."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.is_staff:
            return redirect("staff:api_tokens")
        return view(request, *args, **kwargs)

    return wrapper


@customer_required
@require_http_methods(["GET", "POST"])
def portal_token_list(request):
    return _token_page(
        request, "portal/api_tokens.html", create_url="portal:api_tokens", revoke_url="portal:api_token_revoke"
    )


@customer_required
@require_POST
def portal_token_revoke(request, pk: int):
    _revoke(request, pk)
    return redirect("portal:api_tokens")
