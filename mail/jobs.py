"""The one place the email channel sends work to the broker. Called on commit; if the broker is
down the row stays due and the sweeper (mail.tasks.sweep_mail) sends it later: nothing is lost."""

from __future__ import annotations

from config.broker import send_or_leave_to_sweeper


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    from mail import tasks

    send_or_leave_to_sweeper(getattr(tasks, task_name), *args, countdown=countdown)
