"""How the app that owns a thread (tickets) tells the engine what to do with it.

assistants never imports tickets: tickets registers one function here in its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ThreadPolicy:
    """The defaults are those of a thread nobody owns (its ticket was deleted): no runs."""

    reply_mode: str = "off"  # "auto": publish replies, "draft": hold for staff, "off": no runs
    owned: bool = False  # False when no owner claims the thread: a step on it ends at once
    reason: str = ""  # why replies are not published automatically, for staff
    instructions: str = ""  # extra context for the model (ticket reference, language, ...)
    metadata: dict[str, str] = field(default_factory=dict)  # mirrored to the provider
    metadata_error: str = ""  # why the full metadata does not fit the limits (then `metadata` omits it)
    safety_identifier: str = ""  # a hashed customer id, never the id itself
    owner_label: str = ""  # e.g. "T-1042", for logs and prompt cache keys
    handoff_notice: str = ""  # what the customer is told when a person takes over, in their language
    # What the offline assistant does when it is not sure of an answer: "ask" (one precise question,
    # then a person), "handoff" (a person at once) or "draft" (its best guess, held for staff).
    low_confidence: str = "ask"


_policy: Callable | None = None
_hand_off: Callable | None = None


def register(func: Callable, *, hand_off: Callable | None = None) -> None:
    """`func(thread) -> ThreadPolicy`; `hand_off(thread, reason)`, if given, is what the owner does
    when the assistant hands a customer's turn to a person: called inside the engine's transaction
    (the thread's row is locked), so the owner's state changes with the hand-off, not after it."""
    global _policy, _hand_off
    _policy = func
    _hand_off = hand_off


def for_thread(thread) -> ThreadPolicy:
    return _policy(thread) if _policy else ThreadPolicy()


def handed_off(thread, reason: str) -> None:
    if _hand_off is not None:
        _hand_off(thread, reason)
