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


_policy: Callable | None = None


def register(func: Callable) -> None:
    global _policy
    _policy = func


def for_thread(thread) -> ThreadPolicy:
    return _policy(thread) if _policy else ThreadPolicy()
