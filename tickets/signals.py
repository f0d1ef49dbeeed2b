"""Signals the help desk sends. sender=Ticket; kwargs: message_id. Sent after commit when a
person publishes a reply (a staff reply, an approved draft); the email channel listens."""

from django.dispatch import Signal

reply_published = Signal()
