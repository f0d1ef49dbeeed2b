"""SDK exceptions mapped to the engine's errors: transient or permanent, clean or ambiguous.

A clean error means the API refused before doing anything (429, a busy conversation, a 4xx); an
ambiguous one means the request may have been processed although no answer came back (a timeout,
a dropped connection, a 5xx). Only after an ambiguous one does the provider look in the
conversation before sending again.
"""

from __future__ import annotations

import email.utils
import time
from contextlib import contextmanager

import openai

from assistants.providers.base import PermanentProviderError, TransientProviderError

QUOTA_CODES = {
    "insufficient_quota",
    "credit_balance_exhausted",
    "organization_spend_limit_exceeded",
    "project_spend_limit_exceeded",
    "organization_usage_limit_exceeded",
}
LOCKED_RETRY_AFTER = 1.0  # a busy conversation frees up when its response ends
# A response that failed on the model's side: a new response may well succeed.
RETRYABLE_RESPONSE_ERRORS = {"server_error", "rate_limit_exceeded", "vector_store_timeout"}


def retry_after_seconds(headers) -> float | None:
    """retry-after-ms, then retry-after (seconds or an HTTP date); any size, unlike the SDK."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def error_code(exc) -> str:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return getattr(exc, "message", None) or str(exc)


def translate(exc: Exception) -> Exception:
    """Map an SDK exception to the engine's transient/permanent errors."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientProviderError("timeout", "The OpenAI API did not answer in time.", ambiguous=True)
    if isinstance(exc, openai.APIConnectionError):
        return TransientProviderError("connection_error", "Could not reach the OpenAI API.", ambiguous=True)
    if not isinstance(exc, openai.APIStatusError):
        return exc
    status, code, message = exc.status_code, error_code(exc), error_message(exc)
    retry_after = retry_after_seconds(exc.response.headers if exc.response is not None else None)
    type_ = (exc.body or {}).get("type") if isinstance(exc.body, dict) else None
    if status == 429 and (code in QUOTA_CODES or type_ == "insufficient_quota"):
        return PermanentProviderError(
            "insufficient_quota", f"The OpenAI account has no quota left: {message}", needs_staff=True
        )
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access"
        return PermanentProviderError(code or f"http_{status}", f"OpenAI {what}: {message}", needs_staff=True)
    if code == "conversation_locked":
        return TransientProviderError("conversation_locked", message, retry_after or LOCKED_RETRY_AFTER)
    if status >= 500:
        return TransientProviderError(code or f"http_{status}", message, retry_after, ambiguous=True)
    if status in (408, 409, 429):
        return TransientProviderError(code or f"http_{status}", message, retry_after)
    return PermanentProviderError(code or f"http_{status}", f"OpenAI refused the request: {message}")


@contextmanager
def translated():
    try:
        yield
    except openai.APIError as exc:
        raise translate(exc) from exc


def is_not_found(exc: Exception | None) -> bool:
    return isinstance(exc, openai.NotFoundError)


def is_conversation_missing(exc: Exception | None) -> bool:
    if not isinstance(exc, openai.NotFoundError):
        return False
    return getattr(exc, "param", None) == "conversation" or "onversation" in error_message(exc)
