"""Tokens and the estimated cost of a step, added to its run and to its thread."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import F

from assistants.providers.base import StepResult


def estimate_cost(model: str, input_tokens: int, cached_tokens: int, output_tokens: int) -> Decimal:
    prices = settings.ASSISTANT_PRICES.get(model)
    if prices is None:
        return Decimal("0")
    p_in, p_cached, p_out = prices
    fresh = max(input_tokens - cached_tokens, 0)
    return ((fresh * p_in + cached_tokens * p_cached + output_tokens * p_out) / Decimal(1_000_000)).quantize(
        Decimal("0.000001")
    )


def usage_fields(result: StepResult, provider) -> tuple[dict, dict]:
    """F-expression updates adding this step's usage to the run and to its thread (none for a
    step that used nothing, such as a poll of a response still in progress)."""
    u = result.usage
    model = result.state.get("model") or getattr(provider, "model", provider.name)
    run_fields = {"model": model}
    thread_fields = {}
    if u.input_tokens or u.cached_tokens or u.output_tokens or result.containers:
        cost = estimate_cost(model, u.input_tokens, u.cached_tokens, u.output_tokens)
        # Code interpreter sessions are billed per container, on top of the tokens.
        cost += settings.ASSISTANT_CONTAINER_PRICE * len(result.containers)
        added = {
            "input_tokens": F("input_tokens") + u.input_tokens,
            "cached_tokens": F("cached_tokens") + u.cached_tokens,
            "output_tokens": F("output_tokens") + u.output_tokens,
            "cost": F("cost") + cost,
        }
        run_fields.update(added)
        thread_fields.update(added)
    if result.context_tokens is not None:
        thread_fields["context_tokens"] = result.context_tokens
    return run_fields, thread_fields
