"""Customers who came by email (sign-in links, set a password, email preferences) and the staff
view of an original mail. Thin: parse, call one service, render."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from mail import links, parsing
from mail.models import EmailPreference, InboundMail
from tickets.views.staff import staff_required

LINK_SESSION_KEY = "mail_signed_in_by_link"


@require_http_methods(["GET", "POST"])
def sign_in(request, token: str):
    """GET: a page with a button (mail scanners follow links; they do not press buttons).
    POST: use the link up, sign the customer in, open their ticket."""
    try:
        link = links.link_use(token=token) if request.method == "POST" else links.link_check(token=token)
    except links.LinkError as exc:
        return render(request, "mail/link_invalid.html", {"reason": str(exc)}, status=410)
    if request.method == "GET":
        return render(request, "mail/sign_in.html", {"link": link, "token": token})
    login(request, link.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[LINK_SESSION_KEY] = True
    if request.POST.get("next") == "password":
        return redirect("mail:password")
    return redirect("portal:ticket", pk=link.ticket_id)


@login_required
@require_http_methods(["GET", "POST"])
def password(request):
    """Set a portal password without the old one: for a customer who has none yet, or who just
    proved they read their mail by signing in with a link."""
    user = request.user
    if user.is_staff or (user.has_usable_password() and not request.session.get(LINK_SESSION_KEY)):
        return redirect("password_change")
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # the session survives
        return render(request, "mail/password_done.html")
    return render(request, "mail/password.html", {"form": form}, status=422 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    preference, _ = EmailPreference.objects.get_or_create(user=request.user)
    if request.method == "POST":
        preference.replies_by_email = request.POST.get("replies_by_email") == "on"
        preference.save(update_fields=["replies_by_email"])
    return render(request, "mail/preferences.html", {"preference": preference, "saved": request.method == "POST"})


def _inbound_for(message_pk: int) -> InboundMail:
    mail = InboundMail.objects.select_related("ticket", "mailbox").filter(message_id=message_pk).first()
    if mail is None:
        raise Http404("This message did not come by email.")
    return mail


@staff_required
@require_GET
def original(request, message_pk: int):
    """The mail as it came: its headers and whole text (quoted history included), and the raw source."""
    mail = _inbound_for(message_pk)
    parsed = parsing.parse(bytes(mail.raw))
    headers = [(name, value) for name, values in parsed.headers.items() for value in values]
    context = {"mail": mail, "parsed": parsed, "headers": headers[:80]}
    return render(request, "mail/original.html", context)


@staff_required
@require_GET
def original_raw(request, message_pk: int):
    mail = _inbound_for(message_pk)
    response = HttpResponse(bytes(mail.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="mail-{mail.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
