"""The one SDK client the provider uses (tests point it at the emulator)."""

from __future__ import annotations

import openai
from django.conf import settings

_client = None
_client_override = None  # tests point this at the emulator's in-process transport


def get_client():
    global _client
    if _client_override is not None:
        return _client_override
    if _client is None:
        _client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY or "missing",
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_TIMEOUT,
            # The SDK's retries are off: a POST /responses that timed out may have created a
            # response, and the SDK would send it again. The engine retries, after looking.
            max_retries=0,
            webhook_secret=settings.OPENAI_WEBHOOK_SECRET or None,
        )
    return _client


def set_client(client) -> None:
    """Use this client (or None for the default one built from settings)."""
    global _client_override, _client
    _client_override = client
    _client = None
