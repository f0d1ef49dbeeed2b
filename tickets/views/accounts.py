"""Customer sign-up, and the throttles around Django's auth views (/accounts/).

Log in, log out and password reset are Django's views; django-axes refuses a login while it is
locked (locked_out renders its answer), and password reset and sign-up count requests per
client address (tickets/ratelimit.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render

from tickets import ratelimit
from tickets import signup as signups
from tickets.forms.portal import SignupForm

TOO_MANY = "Too many requests from your network. Please wait an hour and try again."


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:tickets")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        limit = settings.HELPDESK_SIGNUPS_PER_HOUR
        if not ratelimit.address_may(request, "signup", limit=limit):
            form.is_valid()
            form.add_error(None, TOO_MANY)
            return render(request, "registration/signup.html", {"form": form}, status=429)
        if form.is_valid():
            email = form.cleaned_data["email"]
            signups.signup_request(
                email=email, password=form.cleaned_data["password1"], first_name=form.cleaned_data["first_name"]
            )
            return render(request, "registration/signup_sent.html", {"email": email})
    status = 422 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


def signup_confirm(request, uidb64: str, token: str):
    user = signups.signup_confirm(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "registration/signup_invalid.html", status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("portal:tickets")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's view, with at most HELPDESK_PASSWORD_RESETS_PER_HOUR requests per client address
    (each one may send an email)."""

    def post(self, request, *args, **kwargs):
        limit = settings.HELPDESK_PASSWORD_RESETS_PER_HOUR
        if not ratelimit.address_may(request, "password-reset", limit=limit):
            form = self.get_form()
            form.is_valid()
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login while the account or the address is locked: 429, and why."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)
