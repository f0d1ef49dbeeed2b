"""Signals the run engine sends; the tickets app listens (notifications, first response times)."""

from django.dispatch import Signal

# sender=Message class; kwargs: message, run, published (bool). Sent after commit.
reply_created = Signal()
# sender=Run class; kwargs: run. Sent after commit when a run fails or expires.
run_failed = Signal()
