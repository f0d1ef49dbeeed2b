"""The sweeper (Celery beat, every few seconds): nothing waits forever.

It expires runs past their time limit (their customers' turns are then handed to staff), sends
again the steps that cannot be in the broker, and resumes threads paused by the hourly cap once the
hour has passed. A step that is due is normally in the broker already (sent on commit, acknowledged
late), so the sweeper sends again only:
- a step whose sending failed (the broker was down: enqueue_step dated it far back),
- a step whose lease ran out (its worker died) and that is overdue by ASSISTANT_SWEEP_GRACE,
- any step overdue by ASSISTANT_SWEEP_LOST, in case the broker lost it.
Under a backlog, due steps are late but not lost: re-sending all of them would only duplicate the
queue (measured: a 300-run storm never drained while every sweep re-sent the whole backlog).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now

from assistants import scheduling
from assistants.leased_step import LeasedStep, time_limit_message
from assistants.models import Run, Thread
from assistants.run_requests import run_request
from assistants.threads import unanswered_customer_messages


def runs_sweep() -> dict[str, int]:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=Now())
    expired = 0
    for run_id in Run.objects.filter(free, status__in=Run.ACTIVE, deadline__lt=Now()).values_list("pk", flat=True)[
        :200
    ]:
        step = LeasedStep.claim(run_id)
        if step is not None and step.finish(Run.Status.EXPIRED, "time_limit", time_limit_message()) == "expired":
            expired += 1
    grace = timedelta(seconds=settings.ASSISTANT_SWEEP_GRACE)
    lost = timedelta(seconds=settings.ASSISTANT_SWEEP_LOST)
    died = Q(lease_until__lt=Now(), next_step_at__lt=Now() - grace)
    overdue = list(
        Run.objects.filter(free, status__in=Run.ACTIVE)
        .filter(died | Q(next_step_at__lt=Now() - lost))
        .values_list("pk", flat=True)[:500]
    )
    if overdue:
        # Pushing next_step_at forward keeps the next sweep from sending the same run again.
        Run.objects.filter(pk__in=overdue).update(next_step_at=Now())
        for run_id in overdue:
            scheduling.enqueue_step(run_id)
    resumed = 0
    for thread in Thread.objects.filter(ai_state=Thread.AIState.PAUSED)[:200]:
        if unanswered_customer_messages(thread).exists():
            resumed += run_request(thread=thread) is not None
    return {"expired": expired, "requeued": len(overdue), "resumed": resumed}
