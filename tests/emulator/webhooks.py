"""Standard-Webhooks signing (the scheme OpenAI uses) and event delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Union

WebhookTarget = Union[str, Callable[[bytes, dict[str, str]], Any]]  # noqa: UP007 - runtime alias


def new_webhook_secret() -> str:
    """A fresh ``whsec_<base64>`` secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign_webhook(
    body: bytes | str,
    secret: str,
    timestamp: int | None = None,
    webhook_id: str | None = None,
) -> dict[str, str]:
    """Headers for a Standard-Webhooks delivery of ``body``.

    signature = base64(hmac_sha256(base64decode(secret without "whsec_"), f"{id}.{ts}.{body}")),
    sent as ``webhook-signature: v1,<signature>``. Pass an old ``timestamp`` to craft a stale delivery.
    """
    if isinstance(body, bytes):
        body_text = body.decode("utf-8")
    else:
        body_text = body
    ts = int(time.time()) if timestamp is None else int(timestamp)
    wid = ("wh_" + secrets.token_hex(16)) if webhook_id is None else webhook_id
    signed = f"{wid}.{ts}.{body_text}".encode()
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": wid,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


def build_event(event_type: str, response_id: str, created_at: int | None = None) -> bytes:
    event = {
        "id": "evt_" + secrets.token_hex(16),
        "object": "event",
        "created_at": int(time.time()) if created_at is None else int(created_at),
        "type": event_type,
        "data": {"id": response_id},
    }
    return json.dumps(event, separators=(",", ":")).encode()


class WebhookDispatcher:
    """Delivers signed events to a URL (POST via httpx2, in a daemon thread) or to a Python callable
    ``fn(body_bytes, headers)`` (called synchronously, outside the emulator lock). Every attempt is
    recorded in ``deliveries``."""

    def __init__(self) -> None:
        self.target: WebhookTarget | None = None
        self.secret: str | None = None
        self.timeout: float = 5.0
        self.deliveries: list[dict[str, Any]] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.target is not None and bool(self.secret)

    def deliver(self, event_type: str, response_id: str) -> None:
        if not self.enabled:
            return
        body = build_event(event_type, response_id)
        headers = sign_webhook(body, self.secret or "")
        record: dict[str, Any] = {
            "type": event_type,
            "response_id": response_id,
            "webhook_id": headers["webhook-id"],
            "event": json.loads(body),
            "target": self.target if isinstance(self.target, str) else repr(self.target),
            "status_code": None,
            "error": None,
        }
        with self._lock:
            self.deliveries.append(record)
        target = self.target
        if callable(target):
            self._send_callable(target, body, headers, record)
        else:
            thread = threading.Thread(target=self._send_http, args=(str(target), body, headers, record), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    @staticmethod
    def _send_callable(fn: Callable, body: bytes, headers: dict[str, str], record: dict[str, Any]) -> None:
        try:
            result = fn(body, dict(headers))
            record["status_code"] = result if isinstance(result, int) else 200
        except Exception as exc:  # noqa: BLE001 - recorded for the test to inspect
            record["error"] = repr(exc)

    def _send_http(self, url: str, body: bytes, headers: dict[str, str], record: dict[str, Any]) -> None:
        import httpx2

        try:
            resp = httpx2.post(url, content=body, headers=headers, timeout=self.timeout)
            record["status_code"] = resp.status_code
        except Exception as exc:  # noqa: BLE001
            record["error"] = repr(exc)

    def wait(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = [t for t in self._threads if t.is_alive()]
                self._threads = threads
            if not threads:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            threads[0].join(remaining)
