"""Celery tasks of the email channel: each takes ids and calls one service."""

from celery import shared_task

from mail import imap, inbound, outbound


@shared_task(ignore_result=True)
def process_inbound(inbound_id: int) -> str:
    return inbound.inbound_process(inbound_id=inbound_id)


@shared_task(ignore_result=True)
def send_outbound(outbound_id: int) -> str:
    return outbound.outbound_send(outbound_id=outbound_id)


@shared_task(ignore_result=True)
def poll_mailboxes() -> int:
    """Beat: one poll task per active mailbox (a slow server holds up only its own)."""
    from mail import jobs

    ids = imap.active_mailbox_ids()
    for mailbox_id in ids:
        jobs.enqueue("poll_mailbox", mailbox_id)
    return len(ids)


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def poll_mailbox(mailbox_id: int) -> dict:
    return imap.mailbox_poll(mailbox_id=mailbox_id)


@shared_task(ignore_result=True)
def sweep_mail() -> dict:
    return {"inbound": inbound.inbound_sweep(), "outbound": outbound.outbound_sweep()}
