"""Staff management in the workspace: leads invite agents, change roles, deactivate accounts.
Agents (and everyone else) get 403 on these pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tickets import people
from tickets.forms.people import ActiveForm, InviteForm, RoleForm
from tickets.views.staff import staff_required

User = get_user_model()


def lead_required(view):
    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not people.is_lead(request.user):
            raise PermissionDenied("Support leads only.")
        return view(request, *args, **kwargs)

    return wrapper


def _page(request, *, form=None, status=200, error=""):
    rows = [(person, people.role_of(person)) for person in people.staff_list()]
    context = {"rows": rows, "form": form or InviteForm(), "roles": people.ROLE_CHOICES, "error": error}
    return render(request, "staff/people.html", context, status=status)


@lead_required
@require_http_methods(["GET", "POST"])
def people_list(request):
    if request.method == "GET":
        return _page(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=422)
    try:
        people.staff_invite(**form.cleaned_data, invited_by=request.user)
    except ValidationError as exc:
        form.add_error("email", exc)
        return _page(request, form=form, status=422)
    return redirect("staff:people")


def _person(pk: int):
    return get_object_or_404(User.objects.filter(is_staff=True), pk=pk)


@lead_required
@require_POST
def person_role(request, pk: int):
    person, form = _person(pk), RoleForm(request.POST)
    if not form.is_valid():
        return _page(request, status=422, error="Choose agent or lead.")
    try:
        people.staff_set_role(user=person, role=form.cleaned_data["role"], by=request.user)
    except ValidationError as exc:
        return _page(request, status=422, error=" ".join(exc.messages))
    return redirect("staff:people")


@lead_required
@require_POST
def person_active(request, pk: int):
    person, form = _person(pk), ActiveForm(request.POST)
    if not form.is_valid():
        return _page(request, status=422, error="Say active or inactive.")
    try:
        people.staff_set_active(user=person, active=form.cleaned_data["active"], by=request.user)
    except ValidationError as exc:
        return _page(request, status=422, error=" ".join(exc.messages))
    return redirect("staff:people")
