"""When the next step of a run happens: sending it to the broker, and how long to wait first.

Nothing in the engine sleeps: a wait is a task sent with a countdown. Every run whose next step is
due also has `next_step_at` in the database, so a task lost with the broker is sent again by the
sweeper.
"""

from __future__ import annotations

import logging
import random
import time

from django.conf import settings

logger = logging.getLogger(__name__)


def enqueue_step(run_id: int, delay: float = 0.0) -> None:
    """Send 'advance this run' to the broker. If the broker is down, the sweeper sends it later."""
    from assistants import tasks

    try:
        tasks.advance_run.apply_async(args=[run_id], countdown=delay if delay > 0 else None)
    except Exception:  # noqa: BLE001 - the run is committed; the sweeper will enqueue it
        logger.warning("broker unavailable; run %s waits for the sweeper", run_id, exc_info=True)
        mark_unsent(run_id)


def mark_unsent(run_id: int) -> None:
    """The step never reached the broker: date it far back, so the next sweep sends it."""
    from datetime import timedelta

    from django.db.models.functions import Now

    from assistants.models import Run

    Run.objects.filter(pk=run_id).update(next_step_at=Now() - timedelta(days=1))


def enqueue_on_commit(run_id: int, delay: float = 0.0) -> None:
    """Send the step once the caller's transaction commits (never a run the database may still
    roll back); looked up at commit time, so tests can replace enqueue_step."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue_step(run_id, delay))


def backoff(attempt: int) -> float:
    """How long to wait before retrying after `attempt` failures: doubling, capped, with jitter."""
    base = settings.ASSISTANT_BACKOFF_BASE * (2**attempt)
    return min(base, settings.ASSISTANT_BACKOFF_MAX) * random.uniform(0.9, 1.1)


# A response still in progress is looked at again after half the time it has been running:
# an answer is noticed at most about half its own duration late (plus the first interval), and a
# long response costs few polls (one of 2 s: polls at 0.5, 1, 1.5, 2.25 s; one of 60 s: 12 polls).
# Doubling instead would notice a 2 s answer at 3.5 s.
POLL_LATENESS = 0.5


def clock() -> float:
    """Seconds on the wall clock, for spacing polls (tests move it)."""
    return time.time()


def poll_delay(waited: float) -> float:
    """When to poll again a response that has been running for `waited` seconds."""
    delay = min(max(settings.ASSISTANT_BACKOFF_BASE, waited * POLL_LATENESS), settings.ASSISTANT_BACKOFF_MAX)
    return delay * random.uniform(0.9, 1.1)
