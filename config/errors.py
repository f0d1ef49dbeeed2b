"""What an error report may show: the debug page (DEBUG=true only) and the error emails."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class ReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings and request variables named like *KEY*, *PASS*, *TOKEN*...
    but not connection URLs, and `runserver` copies the whole environment into request.META:
    DATABASE_URL (with its password), CELERY_BROKER_URL and REDIS_CACHE_URL would show. *URL*
    and *DSN* are hidden too (a plain URL such as SITE_URL is hidden with them; nothing is lost
    that the settings module does not say)."""

    hidden_settings = re.compile(
        "API|AUTH|COOKIE|CREDENTIAL|DSN|KEY|PASS|SECRET|SIGNATURE|TOKEN|URL|HTTP_COOKIE", flags=re.IGNORECASE
    )
