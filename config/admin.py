"""The admin site: Django's, with the selected-objects list of an action parsed like every other id."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect

from config import parsing


class AdminSite(admin.AdminSite):
    """Django's admin filters an action's queryset with pk__in=<the posted _selected_action
    values> unchecked: a value that is no id raises ValueError, a huge one OverflowError on
    SQLite. Every model here has an integer primary key, so every admin view (ours and Django's
    own, such as users) refuses such a post before it reaches the action, as the admin refuses
    an action with nothing selected."""

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            if request.method == "POST":
                selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
                if any(parsing.object_id(value) is None for value in selected):
                    if request.user.is_active and request.user.is_staff:
                        messages.warning(request, "The selection named something that is not an item here.")
                    return redirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        return checked
