"""Is this mail automatic? The one predicate (RFC 3834 and the headers real auto-responders,
list servers and mail servers send). Automatic mail is stored and may be shown to staff, but it
never starts an assistant run and never gets a mail back.

X-Auto-Response-Suppress is not on the list: it asks *us* not to auto-reply, it does not say the
mail itself is automatic.
"""

from __future__ import annotations

from mail import addresses
from mail.parsing import ParsedMail

BOUNCE, OWN, AUTOMATIC = "bounce", "own", "automatic"
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


def classify(parsed: ParsedMail, *, own_addresses: set[str]) -> tuple[str, str]:
    """('', '') for a mail a person wrote, else (BOUNCE | OWN | AUTOMATIC, why)."""
    if parsed.bounce is not None:
        return BOUNCE, "Delivery status notification (bounce)."
    sender = parsed.from_address
    if sender in own_addresses or sender.split("+", 1)[0] + "@" + sender.rsplit("@", 1)[-1] in own_addresses:
        return OWN, f"Sent from our own address {sender}."
    if addresses.is_own_message_id(parsed.message_id):
        return OWN, "Our own mail came back."
    auto_submitted = parsed.header("auto-submitted").split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return AUTOMATIC, f"Auto-Submitted: {auto_submitted}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        value = parsed.header(name).strip().lower()
        if value and value not in ("no", "false", "0"):
            return AUTOMATIC, f"{name}: {value}"
    for name in ("precedence", "x-precedence"):
        value = parsed.header(name).strip().lower()
        if value in _PRECEDENCE:
            return AUTOMATIC, f"Precedence: {value}"
    if parsed.header("list-id") or parsed.header("list-unsubscribe"):
        return AUTOMATIC, "Mailing list mail (List-Id / List-Unsubscribe)."
    if addresses.is_automatic_sender(sender):
        return AUTOMATIC, f"Sent by {sender}."
    if parsed.header("return-path").strip() == "<>":
        return AUTOMATIC, "Null envelope sender (Return-Path: <>)."
    return "", ""
