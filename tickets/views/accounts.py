"""Customer sign-up. Log in, log out and password reset are Django's auth views (/accounts/)."""

from __future__ import annotations

from django.contrib.auth import login
from django.shortcuts import redirect, render

from tickets import services
from tickets.forms.portal import SignupForm


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:tickets")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.customer_create(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("portal:tickets")
    status = 422 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)
