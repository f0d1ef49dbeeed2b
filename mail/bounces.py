"""Bounces (RFC 3464 delivery status notifications): a permanent failure (5.x.x, or Action:
failed) marks the address as failing, so nothing more is sent to it until the customer writes
from it again, and staff are told on the ticket of the mail that bounced."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from mail.models import AddressStatus, InboundMail, OutboundMail
from mail.parsing import ParsedMail
from tickets import services as desk


def record(parsed: ParsedMail, mail: InboundMail):
    """Apply a bounce; returns the ticket it concerns (or None)."""
    bounce = parsed.bounce
    outbound = None
    if bounce.original_message_id:
        outbound = (
            OutboundMail.objects.select_related("ticket").filter(email_message_id=bounce.original_message_id).first()
        )
    permanent = bounce.permanent
    now = timezone.now()
    for address, _action, status, diagnostic in permanent:
        row, _ = AddressStatus.objects.get_or_create(address=address)
        AddressStatus.objects.filter(pk=row.pk).update(
            failing=True,
            bounces=F("bounces") + 1,
            last_status=status[:20],
            last_diagnostic=diagnostic[:500],
            last_bounce_at=now,
        )
    if outbound is None:
        return None
    failed = [r for r in permanent if r[0] == outbound.to_address] or permanent
    if failed:
        OutboundMail.objects.filter(pk=outbound.pk).update(
            status=OutboundMail.Status.BOUNCED, last_error=f"Bounced: {failed[0][2]} {failed[0][3]}"[:1000]
        )
        from mail.outbound import mirror_delivery

        outbound.refresh_from_db()
        mirror_delivery(outbound)
        desk.system_note(
            ticket=outbound.ticket,
            body=(
                f"Email to {failed[0][0]} bounced (status {failed[0][2] or 'unknown'}). No more mail goes to this "
                "address until the customer writes from it again; reply in the portal or reach them another way."
            ),
            metadata={"channel": "email", "email": {"bounce": mail.pk}},
        )
    return outbound.ticket
