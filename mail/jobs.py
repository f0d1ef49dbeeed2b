"""The one place the email channel sends work to the broker. Called on commit; if the broker is
down the row stays due and the sweeper (mail.tasks.sweep_mail) sends it later: nothing is lost."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    from mail import tasks

    try:
        getattr(tasks, task_name).apply_async(args=args, countdown=countdown if countdown else None)
    except Exception:  # noqa: BLE001 - the row is committed; the sweeper sends it
        logger.warning("broker unavailable; mail task %s%s waits for the sweeper", task_name, args)
