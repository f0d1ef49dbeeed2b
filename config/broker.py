"""Sending a task whose work is already committed: if the broker is down, the row stays due and
a periodic sweeper sends it later, so the caller's request never fails for it."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def send_or_leave_to_sweeper(task, *args, countdown: float | None = None) -> bool:
    """`task.apply_async(args)`; False (logged) when the broker did not take it."""
    try:
        task.apply_async(args=args, countdown=countdown or None)
    except Exception:  # noqa: BLE001 - any broker error: the committed row waits for the sweeper
        logger.warning(
            "broker unavailable; %s%r waits for the sweeper", getattr(task, "name", task), args, exc_info=True
        )
        return False
    return True
