"""Celery tasks: each takes ids and calls one service."""

from celery import shared_task

from assistants import services


@shared_task(ignore_result=True)
def advance_run(run_id: int) -> str:
    return services.run_advance(run_id=run_id)


@shared_task(ignore_result=True)
def sweep_runs() -> dict:
    return services.runs_sweep()


@shared_task(ignore_result=True)
def cancel_remote_run(run_id: int) -> None:
    services.run_cancel_remote(run_id=run_id)
