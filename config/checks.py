"""Deployment checks of our own, run by `manage.py check --deploy` beside Django's."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs, **kwargs):
    """Without collectstatic's manifest, whitenoise serves plain names from the app folders:
    no long-lived caching and no compressed copies."""
    if settings.STATIC_MANIFEST.exists():
        return []
    return [
        Warning(
            f"Static files are not collected: {settings.STATIC_MANIFEST} does not exist.",
            hint="Run `manage.py collectstatic --noinput` (make serve does) before starting gunicorn.",
            id="helpdesk.W001",
        )
    ]
