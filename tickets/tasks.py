"""Celery tasks of the help desk: each takes plain values and does one thing."""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage

from tickets import live

logger = logging.getLogger(__name__)


@shared_task(
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=1800,
    max_retries=8,
)
def send_staff_mail(subject: str, body: str, recipients: list[str]) -> None:
    """A notification to staff (escalations, runs that need a person). Automatic, so it says so
    (RFC 3834: auto-generated, not a reply) and asks Exchange not to auto-reply."""
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, headers=headers).send(using="default")
    except Exception as exc:
        # Said with its cause; the task then retries (SMTP and network errors) or gives up.
        logger.error("could not send %r to %s: %s: %s", subject, recipients, type(exc).__name__, exc)
        raise


@shared_task(ignore_result=True)
def prune_live_changes() -> None:
    """Old rows of the live pages' change feed (tickets.live)."""
    live.prune()
