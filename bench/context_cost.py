"""Context cost benchmark: one ticket grows to 200 messages (100 customer turns, 100 replies) with
the OpenAI provider against the in-process emulator. Prints the input tokens of every 10th run,
without a budget (the conversation re-sends its whole history every time) and with
ASSISTANT_CONTEXT_BUDGET (rotation to a seeded conversation).

    .venv/bin/python bench/context_cost.py [--turns 100] [--budget 12000] [--size 600]
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", "/tmp/hd-bench-context")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/hd-bench-context/bench.sqlite3")
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["ASSISTANT_PROVIDER"] = "openai"
os.environ["OPENAI_API_KEY"] = "test"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--budget", type=int, default=12000)
    parser.add_argument("--size", type=int, default=600, help="characters per customer message")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from assistants import scheduling
    from assistants import services as engine
    from assistants.models import Run
    from assistants.providers import openai as openai_provider
    from tests.emulator import Emulator
    from tests.factories import CustomerFactory
    from tickets import services

    call_command("migrate", verbosity=0)
    scheduling.enqueue_step = lambda run_id, delay=0.0: None  # driven by hand below, waits skipped
    settings.ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR = 10_000

    def grow(budget: int) -> list[tuple[int, int, int]]:
        call_command("flush", interactive=False, verbosity=0)
        settings.ASSISTANT_CONTEXT_BUDGET = budget
        emu = Emulator(cache_min_tokens=1024)
        openai_provider.set_client(emu.client())
        customer = CustomerFactory()
        ticket = services.ticket_open(customer=customer, subject="Growing", body="My parcel never arrived. " * 10)
        for turn in range(args.turns):
            if turn:
                body = f"Turn {turn}: " + ("still waiting, here are more details. " * 40)[: args.size]
                services.customer_reply(ticket=ticket, customer=customer, body=body)
            while Run.objects.filter(status__in=Run.ACTIVE).exists():
                for run_id in Run.objects.filter(status__in=Run.ACTIVE).values_list("pk", flat=True):
                    engine.run_advance(run_id=run_id)
        ticket.thread.refresh_from_db()
        rows = list(
            Run.objects.filter(thread=ticket.thread).order_by("created_at").values_list("input_tokens", "cached_tokens")
        )
        return [(n + 1, i, c) for n, (i, c) in enumerate(rows)], ticket.thread

    naive, naive_thread = grow(0)
    budgeted, budget_thread = grow(args.budget)
    print(f"{args.turns} customer turns of ~{args.size} characters -> {naive_thread.message_count} messages per ticket")
    print(f"{'run':>4} {'messages':>9} {'input (no budget)':>18} {'input (budget ' + str(args.budget) + ')':>22}")
    for (n, i_naive, _), (_, i_budget, _) in zip(naive, budgeted):
        if n == 1 or n % 10 == 0:
            print(f"{n:>4} {2 * n:>9} {i_naive:>18} {i_budget:>22}")
    total_naive = sum(i for _, i, _ in naive)
    total_budget = sum(i for _, i, _ in budgeted)
    print(f"total input tokens: no budget {total_naive}, with budget {total_budget} ({total_budget / total_naive:.0%})")
    print(
        f"max input of one run: no budget {max(i for _, i, _ in naive)}, with budget {max(i for _, i, _ in budgeted)}"
    )
    print(f"rotations with the budget: {len(budget_thread.remote_history)}")


if __name__ == "__main__":
    main()
