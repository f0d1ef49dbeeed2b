"""Celery tasks: each takes ids and calls one service."""

from celery import shared_task

from webhooks import delivery


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return delivery.delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    return delivery.deliveries_sweep()
