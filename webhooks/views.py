"""The leads' webhooks page in the staff workspace: register endpoints (the secret is shown once),
turn them on and off, read the delivery log."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from webhooks import endpoints
from webhooks.access import remember_lead
from webhooks.forms import EndpointForm
from webhooks.models import Endpoint


def lead_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not remember_lead(request, request.user):
            raise PermissionDenied("Support leads only.")
        return view(request, *args, **kwargs)

    return wrapper


def _page(request, form=None, status=200, **extra):
    context = {"form": form or EndpointForm(), "endpoints": endpoints.endpoints_with_log(), **extra}
    return render(request, "staff/webhooks.html", context, status=status)


@lead_required
@require_GET
def endpoint_list(request):
    return _page(request)


@lead_required
@require_POST
def endpoint_create(request):
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = endpoints.endpoint_create(
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                include_internal_notes=form.cleaned_data["include_internal_notes"],
                by=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _page(request, created=endpoint, secret=secret)
    return _page(request, form=form, status=422)


@lead_required
@require_POST
def endpoint_toggle(request, pk: int):
    endpoint = get_object_or_404(Endpoint, pk=pk)
    endpoints.endpoint_set_active(endpoint=endpoint, active=not endpoint.is_active)
    return redirect("webhooks:endpoints")
