"""Signals the run engine sends; the tickets app listens (notifications, first response times)."""

from django.dispatch import Signal

# sender=Message class; kwargs: message, run, published (bool), superseded (how many drafts the reply
# replaced). Sent after commit.
reply_created = Signal()
# sender=Run class; kwargs: run. Sent after commit when a run fails or expires.
run_failed = Signal()
# sender=Run class; kwargs: run (or None), notice (the customer-visible Message, or None when the
# customer was already told), reason. Sent after commit when a customer's turn is handed to staff.
run_handed_off = Signal()
# sender=Message class; kwargs: message, attachment (None when the whole message was removed), by.
# Sent inside the redaction's transaction: the owner drops its own copies of the text in it.
message_redacted = Signal()
# sender=Run class; kwargs: run, reply (the reply Message, or None). Sent inside the transaction
# that ends the run (completed, failed, cancelled, expired by the engine), so what the owner records
# for it (outgoing webhook events) commits with the run, or not at all.
run_ended = Signal()
