"""Code interpreter containers are billed per session: each container is charged once per thread,
however many responses (steps of one run, or later runs) reuse it while it is active.

The provider returns, as a step's `containers`, only those no earlier step of the thread was charged
for, and carries the run's charged ones in its provider_state (`billed_containers`): it reads rows
(the thread's runs) but writes none; the engine saves the state with the cost, in one UPDATE.
"""

from __future__ import annotations

from assistants.models import Run

STATE_KEY = "billed_containers"


def charge_once(ctx, used: list[str], state: dict) -> list[str]:
    """The containers of `used` not charged yet on this thread; `state` (the step's provider state)
    gets the run's charged containers, these included."""
    mine = list((ctx.run.provider_state or {}).get(STATE_KEY) or [])
    new = [c for c in dict.fromkeys(used) if c not in mine]
    if new:
        earlier = Run.objects.filter(thread_id=ctx.thread.pk).exclude(pk=ctx.run.pk)
        for charged in earlier.values_list(f"provider_state__{STATE_KEY}", flat=True):
            if isinstance(charged, list):
                new = [c for c in new if c not in charged]
    if mine or new:
        state[STATE_KEY] = mine + new
    return new
