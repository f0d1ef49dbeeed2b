"""The assistant engine's public face: what the owning app (tickets), the tasks, the tests and the
benchmarks call. The rules live in the small modules behind it, private to this app:

- threads.py       threads and messages, appended in order under the thread's lock; ai_state
- run_requests.py  asking for runs (coalescing, caps), cancelling, and settling a customer's turn
                   when a run ends (follow-up, one automatic retry, or a hand-off to staff)
- leased_step.py   one leased step: the only writer of a run while a worker works on it
- scheduling.py    sending steps to the broker, backoff and poll delays
- sweeper.py       expired runs, overdue steps, paused threads
- metadata_sync.py the conversation's metadata mirror
- costs.py         tokens and estimated cost
"""

from assistants.costs import estimate_cost
from assistants.leased_step import BASE_INSTRUCTIONS, Outcome, claim_step, run_advance, supersede_drafts
from assistants.metadata_sync import thread_metadata_sync, threads_metadata_sweep
from assistants.run_requests import hand_off, run_cancel, run_cancel_remote, run_request
from assistants.scheduling import backoff, enqueue_step, poll_delay
from assistants.sweeper import runs_sweep
from assistants.threads import (
    lock_thread,
    message_add,
    refresh_ai_state,
    thread_create,
    unanswered_customer_messages,
)

__all__ = [
    "BASE_INSTRUCTIONS",
    "Outcome",
    "backoff",
    "claim_step",
    "enqueue_step",
    "estimate_cost",
    "hand_off",
    "lock_thread",
    "message_add",
    "poll_delay",
    "refresh_ai_state",
    "run_advance",
    "run_cancel",
    "run_cancel_remote",
    "run_request",
    "runs_sweep",
    "supersede_drafts",
    "thread_create",
    "thread_metadata_sync",
    "threads_metadata_sweep",
    "unanswered_customer_messages",
]
