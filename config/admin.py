"""The admin site: Django's, with two kinds of input refused before any admin view reads them."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect

from config import parsing


class AdminSite(admin.AdminSite):
    """Every admin view (ours and Django's own, such as users) gets two checks first:

    - a NUL byte in a query or form value is a 400: the changelist passes its query string to
      the database as filter values, and PostgreSQL refuses NUL in text (DataError) when the
      page is rendered, past the admin's own handling of bad lookups;
    - Django's admin filters an action's queryset with pk__in=<the posted _selected_action
      values> unchecked: a value that is no id raises ValueError, a huge one OverflowError on
      SQLite. Every model here has an integer primary key, so such a post is sent back to the
      list, as the admin does with an action that has nothing selected.
    """

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            for values in (request.GET.lists(), request.POST.lists() if request.method == "POST" else ()):
                if any("\x00" in v for _, vs in values for v in vs):
                    return HttpResponseBadRequest("NUL bytes are not accepted.", content_type="text/plain")
            if request.method == "POST":
                selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
                if any(parsing.object_id(value) is None for value in selected):
                    if request.user.is_active and request.user.is_staff:
                        messages.warning(request, "The selection named something that is not an item here.")
                    return redirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        return checked
