"""What the email channel listens to: every public message that reaches a customer.

- assistants.signals.reply_created (after the run's completing transaction commits, in the
  worker; also the engine's automatic notices, which have no run): published ones are emailed.
- tickets.signals.reply_published (staff replies and approved drafts, after commit).

Both only record an OutboundMail and enqueue its task: no SMTP here.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from assistants.signals import message_redacted, reply_created
from mail import inbound, outbound
from mail.models import InboundMail, Mailbox
from tickets.signals import reply_published

post_save.connect(inbound.forget_own_addresses, sender=Mailbox, dispatch_uid="mail.mailbox_saved")
post_delete.connect(inbound.forget_own_addresses, sender=Mailbox, dispatch_uid="mail.mailbox_deleted")


@receiver(reply_created, dispatch_uid="mail.reply_created")
def _on_reply_created(sender, message, run=None, published: bool = True, **kwargs) -> None:
    if published:
        outbound.queue_public_message(message_id=message.pk)


@receiver(reply_published, dispatch_uid="mail.reply_published")
def _on_reply_published(sender, message_id: int, **kwargs) -> None:
    outbound.queue_public_message(message_id=message_id)


@receiver(message_redacted, dispatch_uid="mail.message_redacted")
def _on_message_redacted(sender, message, **kwargs) -> None:
    """The raw mail a message came from holds its text and files too: it goes with them."""
    InboundMail.objects.filter(message_id=message.pk).update(raw=b"", size=0)
