"""Saved (canned) replies: the pages where staff manage them, and the composer's picker."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import canned, people
from tickets.forms.canned import CannedReplyForm
from tickets.models import CannedReply
from tickets.views.staff import _ticket, staff_required


def _managed(request, pk: int) -> CannedReply:
    reply = get_object_or_404(canned.visible_to(request.user), pk=pk)
    if not canned.can_manage(request.user, reply):
        raise PermissionDenied("Shared replies are managed by support leads; you manage your own.")
    return reply


@staff_required
@require_GET
def reply_list(request):
    q = request.GET.get("q", "")
    replies = [(r, canned.can_manage(request.user, r)) for r in canned.search(request.user, q, limit=200)]
    context = {"replies": replies, "q": q, "is_lead": people.is_lead(request.user), "placeholders": canned.PLACEHOLDERS}
    return render(request, "staff/canned.html", context)


def _save(request, form, *, reply=None):
    try:
        if reply is None:
            canned.canned_create(by=request.user, shared=form.cleaned_data["shared"], **_fields(form))
        else:
            canned.canned_update(canned=reply, by=request.user, **_fields(form))
    except ValidationError as exc:
        form.add_error("body", exc)
        return None
    return redirect("staff:canned")


def _fields(form) -> dict:
    return {"title": form.cleaned_data["title"], "body": form.cleaned_data["body"]}


def _form_page(request, form, *, reply=None, status=200):
    context = {
        "form": form,
        "reply": reply,
        "is_lead": people.is_lead(request.user),
        "placeholders": canned.PLACEHOLDERS,
    }
    return render(request, "staff/canned_form.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def reply_new(request):
    if request.method == "GET":
        return _form_page(request, CannedReplyForm())
    form = CannedReplyForm(request.POST)
    if form.is_valid() and form.cleaned_data["shared"] and not people.is_lead(request.user):
        raise PermissionDenied("Only support leads create shared replies.")
    done = _save(request, form) if form.is_valid() else None
    return done or _form_page(request, form, status=422)


@staff_required
@require_http_methods(["GET", "POST"])
def reply_edit(request, pk: int):
    reply = _managed(request, pk)
    if request.method == "GET":
        return _form_page(request, CannedReplyForm(instance=reply), reply=reply)
    form = CannedReplyForm(request.POST)
    done = _save(request, form, reply=reply) if form.is_valid() else None
    return done or _form_page(request, form, reply=reply, status=422)


@staff_required
@require_POST
def reply_delete(request, pk: int):
    canned.canned_delete(canned=_managed(request, pk), by=request.user)
    return redirect("staff:canned")


@staff_required
@require_GET
def picker(request, pk: int):
    """The composer's searchable list (an htmx partial)."""
    ticket = _ticket(request, pk)
    q = request.GET.get("q", "")
    context = {"ticket": ticket, "replies": canned.search(request.user, q), "q": q}
    template = "staff/canned_picker.html#results" if request.GET.get("results") else "staff/canned_picker.html"
    return render(request, template, context)


@staff_required
@require_POST
def use(request, pk: int, reply_pk: int):
    """The reply's text for this ticket (plain text, for the composer), counted as one use."""
    ticket = _ticket(request, pk)
    reply = get_object_or_404(canned.visible_to(request.user), pk=reply_pk)
    text = canned.canned_use(canned=reply, ticket=ticket, staff=request.user)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")
