"""Core of the OpenAI emulator: in-memory state, routing, and the endpoint handlers.

``Emulator.handle(method, path, query, headers, body) -> (status, headers, body_bytes)`` is the one
entry point; both transports (in-process ``httpx2.MockTransport`` and the loopback HTTP server) call it.
Network-level faults are raised as :class:`SimulatedNetworkFault` subclasses and translated by the
transport. Everything is guarded by one ``threading.RLock``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from . import brain as _brain
from .errors import (
    ApiError,
    SimulatedConnectError,
    SimulatedDrop,
    SimulatedTimeout,
    conversation_locked_error,
    error_for_status,
    invalid_api_key_error,
)
from .faults import FAULT_OPTION_DEFAULTS, RATE_KEYS, FailRule, FaultInjector
from .multipart import parse_multipart
from .webhooks import WebhookDispatcher, sign_webhook

ScriptFn = Callable[[dict[str, Any], list[dict[str, Any]]], Any]
Result = tuple[int, dict[str, str], bytes]

MAX_ITEMS_PER_CALL = 20
METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_LEN = 64
METADATA_MAX_VALUE_LEN = 512
IN_FLIGHT = ("queued", "in_progress")
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
ITEM_ID_PREFIX = {
    "message": "msg_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "file_search_call": "fs_",
    "code_interpreter_call": "ci_",
    "reasoning": "rs_",
    "compaction": "cmp_",
}


def new_id(prefix: str) -> str:
    if prefix == "file-":
        return prefix + secrets.token_hex(11)
    return prefix + secrets.token_hex(24)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _fingerprint(item: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in item.items() if k not in ("id", "status")}, sort_keys=True)


def _qget(query: dict[str, Any], key: str) -> str | None:
    value = query.get(key)
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def _qlist(query: dict[str, Any], key: str) -> list[str]:
    out: list[str] = []
    for k in (key, key + "[]"):
        value = query.get(k)
        if value is None:
            continue
        out.extend(value if isinstance(value, list) else [value])
    return out


def validate_metadata(metadata: Any, param: str = "metadata", attributes: bool = False) -> dict[str, Any]:
    """16 keys max, keys <= 64 chars, values strings <= 512 chars (attributes also allow bool/number)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ApiError(400, f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type")
    if len(metadata) > METADATA_MAX_KEYS:
        raise ApiError(
            400,
            f"Invalid '{param}': too many properties. Expected an object with at most {METADATA_MAX_KEYS} "
            f"properties, but got an object with {len(metadata)} properties instead.",
            param=param,
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(str(key)) > METADATA_MAX_KEY_LEN:
            raise ApiError(
                400,
                f"Invalid '{param}': key '{key}' is too long. Expected a key with maximum length "
                f"{METADATA_MAX_KEY_LEN}, but got a key with length {len(str(key))} instead.",
                param=param,
                code="string_above_max_length",
            )
        ok_types: tuple[type, ...] = (str, bool, int, float) if attributes else (str,)
        if not isinstance(value, ok_types):
            raise ApiError(
                400,
                f"Invalid type for '{param}.{key}': expected a string, but got {type(value).__name__} instead.",
                param=f"{param}.{key}",
                code="invalid_type",
            )
        if isinstance(value, str) and len(value) > METADATA_MAX_VALUE_LEN:
            raise ApiError(
                400,
                f"Invalid '{param}.{key}': string too long. Expected a string with maximum length "
                f"{METADATA_MAX_VALUE_LEN}, but got a string with length {len(value)} instead.",
                param=f"{param}.{key}",
                code="string_above_max_length",
            )
    return dict(metadata)


def paginate(items: list[dict[str, Any]], query: dict[str, Any], default_order: str = "desc") -> dict[str, Any]:
    order = _qget(query, "order") or default_order
    if order not in ("asc", "desc"):
        raise ApiError(400, f"Invalid 'order': expected 'asc' or 'desc', got {order!r}.", param="order")
    raw_limit = _qget(query, "limit")
    try:
        limit = 20 if raw_limit in (None, "") else int(raw_limit)
    except ValueError:
        raise ApiError(400, "Invalid 'limit': expected an integer.", param="limit", code="invalid_type") from None
    if not 1 <= limit <= 100:
        raise ApiError(
            400,
            f"Invalid 'limit': integer out of range. Expected a value between 1 and 100, got {limit}.",
            param="limit",
            code="integer_out_of_range",
        )
    seq = list(items) if order == "asc" else list(reversed(items))
    after = _qget(query, "after")
    if after:
        ids = [i.get("id") for i in seq]
        seq = seq[ids.index(after) + 1 :] if after in ids else []
    page = seq[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(seq) > limit,
    }


class _Conversation:
    def __init__(self, cid: str, created_at: int, metadata: dict[str, str]) -> None:
        self.id = cid
        self.created_at = created_at
        self.metadata = metadata
        self.items: list[dict[str, Any]] = []
        self.deleted = False

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "conversation", "created_at": self.created_at, "metadata": self.metadata}


class _Response:
    def __init__(self, rid: str, request: dict[str, Any]) -> None:
        self.id = rid
        self.request = request
        self.data: dict[str, Any] = {}
        self.context: list[dict[str, Any]] = []
        self.new_input: list[dict[str, Any]] = []
        self.output: list[dict[str, Any]] = []
        self.conversation_id: str | None = None
        self.background = False
        self.stored = True
        self.include: list[str] = []
        self.created: float = 0.0
        self.ready_at: float = 0.0

    @property
    def status(self) -> str:
        return self.data["status"]


class _File:
    def __init__(
        self, fid: str, filename: str, purpose: str, data: bytes, created_at: int, expires_at: int | None
    ) -> None:
        self.id = fid
        self.filename = filename
        self.purpose = purpose
        self.data = data
        self.created_at = created_at
        self.expires_at = expires_at
        self.deleted = False

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": self.expires_at,
        }


class _VectorStore:
    def __init__(
        self,
        vid: str,
        created_at: int,
        name: str | None,
        metadata: dict[str, str],
        description: str | None,
        expires_after: Any,
    ) -> None:
        self.id = vid
        self.created_at = created_at
        self.name = name
        self.metadata = metadata
        self.description = description
        self.expires_after = expires_after
        self.files: dict[str, dict[str, Any]] = {}
        self.deleted = False


class Emulator:
    """Stateful in-memory emulator of the OpenAI Conversations, Responses, Files and Vector Stores APIs.

    Constructor arguments (all keyword, all changeable later with :meth:`configure`):

    * ``latency``: seconds after creation before a background response may complete (default 0).
    * ``request_delay``: seconds every /v1 request sleeps before being answered (default 0).
    * ``seed``: seed of the RNG used by the global fault rates.
    * ``faults``: dict of fault rates/options, e.g. ``{"rate_429": 0.3, "retry_after": "2"}``
      (see :mod:`tests.emulator.faults`).
    * ``auto_complete``: when True, background responses advance by time alone (queued -> in_progress at
      latency/2, completed at latency) without being polled; needed for webhook-driven flows.
    * ``webhook_url`` / ``webhook_secret``: where to POST signed response.* events (url may also be a
      callable ``fn(body_bytes, headers)``).
    * ``api_key``: if set, any other bearer token gets 401 invalid_api_key.
    * ``clock`` / ``sleep``: injectable time source and sleep function (tests can fake time).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        request_delay: float = 0.0,
        seed: int | None = None,
        faults: dict[str, Any] | None = None,
        auto_complete: bool = False,
        webhook_url: Any = None,
        webhook_secret: str | None = None,
        api_key: str | None = None,
        cache_min_tokens: int = 0,
        rules: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._initial = {
            "latency": latency,
            "request_delay": request_delay,
            "seed": seed,
            "faults": dict(faults or {}),
            "auto_complete": auto_complete,
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
            "api_key": api_key,
            "cache_min_tokens": cache_min_tokens,
            "rules": list(rules or []),
        }
        self._webhooks = WebhookDispatcher()
        self._reset_state()
        self._reset_config()

    # ------------------------------------------------------------------ configuration
    def _reset_state(self) -> None:
        self._conversations: dict[str, _Conversation] = {}
        self._responses: dict[str, _Response] = {}
        self._files: dict[str, _File] = {}
        self._vector_stores: dict[str, _VectorStore] = {}
        # Code interpreter containers: {container_id: {file_id: (filename, bytes)}}
        self._containers: dict[str, dict[str, tuple[str, bytes]]] = {}
        self._cache: dict[str, dict[str, Any]] = {}
        self._counters: Counter = Counter()
        self._calls: Counter = Counter()
        self._requests: list[dict[str, Any]] = []
        self.keep_requests = 500
        self._outbox: list[tuple[str, str]] = []
        self._webhooks.deliveries = []
        self._hooks: list[dict[str, Any]] = []

    def _reset_config(self) -> None:
        init = self._initial
        self.latency = float(init["latency"])
        self.request_delay = float(init["request_delay"])
        self.auto_complete = bool(init["auto_complete"])
        self.api_key = init["api_key"]
        self.cache_min_tokens = int(init["cache_min_tokens"])
        self._faults = FaultInjector(init["seed"])
        self._faults.configure(init["faults"])
        self._rules: list[dict[str, Any]] = list(init["rules"])
        self._script: ScriptFn | None = None
        self._webhooks.target = init["webhook_url"]
        self._webhooks.secret = init["webhook_secret"]

    def reset(self, keep_config: bool = False) -> None:
        """Forget all objects, counters and webhooks; unless ``keep_config``, also restore the constructor
        configuration (fault rates, fail_next rules, script, rules, webhook target)."""
        with self._lock:
            self._reset_state()
            if not keep_config:
                self._reset_config()

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change settings. Keys: latency, request_delay, auto_complete, api_key, cache_min_tokens, seed,
        faults (dict), any rate_* or fault option key (flat), rules (list), webhook ({"url","secret"}),
        webhook_url, webhook_secret, webhook_timeout. Returns the resulting config."""
        with self._lock:
            fault_values: dict[str, Any] = {}
            for key, value in options.items():
                if key == "latency":
                    self.latency = float(value)
                elif key == "request_delay":
                    self.request_delay = float(value)
                elif key == "auto_complete":
                    self.auto_complete = bool(value)
                elif key == "api_key":
                    self.api_key = value
                elif key == "cache_min_tokens":
                    self.cache_min_tokens = int(value)
                elif key == "faults":
                    fault_values.update(value or {})
                elif key in RATE_KEYS or key in FAULT_OPTION_DEFAULTS or key == "seed":
                    fault_values[key] = value
                elif key in ("rules", "replies"):
                    self.set_rules(value or [])
                elif key == "webhook":
                    value = value or {}
                    self._webhooks.target = value.get("url")
                    self._webhooks.secret = value.get("secret")
                elif key == "webhook_url":
                    self._webhooks.target = value
                elif key == "webhook_secret":
                    self._webhooks.secret = value
                elif key == "webhook_timeout":
                    self._webhooks.timeout = float(value)
                else:
                    raise ValueError(f"unknown emulator option {key!r}")
            if fault_values:
                self._faults.configure(fault_values)
            return self.config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            target = self._webhooks.target
            return {
                "latency": self.latency,
                "request_delay": self.request_delay,
                "auto_complete": self.auto_complete,
                "api_key_required": self.api_key is not None,
                "cache_min_tokens": self.cache_min_tokens,
                "faults": self._faults.as_dict(),
                "rules": copy.deepcopy(self._rules),
                "script": None if self._script is None else repr(self._script),
                "webhook": {
                    "url": target if isinstance(target, str) or target is None else repr(target),
                    "secret_set": bool(self._webhooks.secret),
                },
            }

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """Canned model behaviour, see :mod:`tests.emulator.brain`."""
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValueError("rules must be a list of objects")
        for rule in rules:
            if not any(k in rule for k in ("reply", "function_call", "fail", "incomplete")):
                raise ValueError(f"rule needs reply, function_call, fail or incomplete: {rule!r}")
        with self._lock:
            self._rules = copy.deepcopy(rules)

    def script(self, fn: ScriptFn | None) -> None:
        """Replace the model with ``fn(request_json, conversation_items)`` where conversation_items is the
        whole context the model sees (history, then this request's normalized input). It returns a list of
        output items, a string (one assistant message), or a dict {output, status, error,
        incomplete_details}. ``None`` restores the default brain."""
        with self._lock:
            self._script = fn

    def set_webhook(self, target: Any, secret: str | None) -> None:
        """``target``: URL string or callable ``fn(body_bytes, headers)``; ``secret``: ``whsec_...``."""
        with self._lock:
            self._webhooks.target = target
            self._webhooks.secret = secret

    def fail_next(
        self,
        path_prefix: str = "/v1",
        method: str | None = None,
        status: int = 500,
        count: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        kind: str = "status",
        code: str | None = None,
        lost_as: str = "500",
        delay: float = 0.0,
        sleep: float | None = None,
        **extra: Any,
    ) -> None:
        """Queue a one-shot fault for the next ``count`` matching /v1 requests (see faults.FailRule)."""
        rule = FailRule.from_dict(
            dict(
                path_prefix=path_prefix,
                method=method,
                status=status,
                count=count,
                headers=headers or {},
                body=body,
                kind=kind,
                code=code,
                lost_as=lost_as,
                delay=delay,
                sleep=sleep,
                **extra,
            )
        )
        with self._lock:
            self._faults.add_rule(rule)

    def on_call(
        self,
        fn: Callable[[str, str, Any], None],
        *,
        method: str | None = None,
        path_prefix: str = "/v1",
        count: int | None = 1,
        after: bool = False,
    ) -> None:
        """Call ``fn(method, path, json_body)`` when a matching /v1 request arrives: before it is processed
        (or, with ``after=True``, once it was processed and before its answer is sent), outside the
        emulator's lock. A test can post a customer message in the middle of a step, cancel a run, or
        hold the call (``time.sleep``) while something else happens. ``count=None``: every match."""
        with self._lock:
            self._hooks.append(
                {
                    "fn": fn,
                    "method": method.upper() if method else None,
                    "prefix": path_prefix,
                    "left": count,
                    "after": after,
                }
            )

    def _run_hooks(self, method: str, path: str, body: bytes, *, after: bool) -> None:
        with self._lock:
            due = []
            for hook in self._hooks:
                if hook["after"] != after or not path.startswith(hook["prefix"]):
                    continue
                if hook["method"] not in (None, method) or hook["left"] == 0:
                    continue
                if hook["left"] is not None:
                    hook["left"] -= 1
                due.append(hook["fn"])
        if not due:
            return
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        for fn in due:
            fn(method, path, data)

    sign_webhook = staticmethod(sign_webhook)

    # ------------------------------------------------------------------ transports / helpers
    def transport(self):
        """An ``httpx2.MockTransport`` answering from this emulator."""
        from .transport import make_transport

        return make_transport(self)

    def client(self, **kwargs: Any):
        """An ``openai.OpenAI`` client wired to :meth:`transport` (max_retries defaults to 0)."""
        import httpx2
        import openai

        kwargs.setdefault("api_key", self.api_key or "test")
        kwargs.setdefault("base_url", "http://emulator/v1")
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("http_client", httpx2.Client(transport=self.transport()))
        return openai.OpenAI(**kwargs)

    def serve(self, port: int = 0, host: str = "127.0.0.1"):
        """Start the loopback server in a thread; returns ``(server, base_url)``."""
        from .server import serve_in_thread

        return serve_in_thread(self, port=port, host=host)

    def wait_webhooks(self, timeout: float = 5.0) -> None:
        """Wait for URL deliveries running in background threads."""
        self._webhooks.wait(timeout)

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return list(self._webhooks.deliveries)

    def count(self, method: str, template: str, status: Any = None) -> int:
        """Number of calls to ``METHOD template`` (e.g. "POST", "/v1/responses"), optionally only with
        that status (int, or "timeout"/"drop"/"connect"/"lost:500"...)."""
        with self._lock:
            if status is None:
                return self._calls[f"{method.upper()} {template}"]
            return self._counters[f"{method.upper()} {template} {status}"]

    def tick(self, force: bool = False) -> None:
        """Advance background responses by time (``force`` completes every in-flight one now)."""
        with self._lock:
            self._advance_all(force=force)
            outbox = self._take_outbox()
        self._flush(outbox)

    # ------------------------------------------------------------------ entry point
    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Result:
        method = method.upper()
        query = dict(query or {})
        headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        body = body or b""
        if path.startswith("/_emulator"):
            return self._control(method, path, body)

        handler, params, template = self._route(method, path)
        if path.startswith("/v1"):
            self._run_hooks(method, path, body, after=False)
        with self._lock:
            if self.auto_complete:
                self._advance_all()
            fault = self._faults.decide(method, path) if path.startswith("/v1") else None
            delay = self.request_delay
            early_outbox = self._take_outbox()
        self._flush(early_outbox)
        if fault is not None and fault.kind == "delay":
            delay += fault.delay
        if delay > 0:
            self._sleep(delay)

        if fault is not None and fault.kind in ("status", "timeout", "drop", "connect"):
            return self._apply_fault(method, path, template, fault)

        with self._lock:
            try:
                if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
                    raise invalid_api_key_error()
                if handler is None:
                    raise ApiError(404, f"Invalid URL ({method} {path})")
                status, payload, extra_headers = self._call(handler, params, query, headers, body)
            except ApiError as err:
                status, payload, extra_headers = err.status, err.payload(), err.headers
            client_status: Any = status
            if fault is not None and fault.kind == "lost":
                client_status = f"lost:{fault.lost_as}"
            self._record(method, path, template, client_status, query, headers, body)
            outbox = self._take_outbox()
        self._flush(outbox)
        if path.startswith("/v1"):
            self._run_hooks(method, path, body, after=True)

        if fault is not None and fault.kind == "lost":
            if fault.lost_as == "timeout":
                raise SimulatedTimeout(self._timeout_sleep(fault))
            if fault.lost_as == "drop":
                raise SimulatedDrop("emulated dropped connection (request was processed)")
            err = error_for_status(int(fault.lost_as))
            return self._error_result(err)
        return self._result(status, payload, extra_headers)

    # ------------------------------------------------------------------ plumbing
    def _timeout_sleep(self, fault) -> float:
        if fault.sleep is not None:
            return float(fault.sleep)
        return float(self._faults.options.get("timeout_sleep") or 10.0)

    def _apply_fault(self, method: str, path: str, template: str, fault) -> Result:
        with self._lock:
            label: Any = fault.status if fault.kind == "status" else fault.kind
            self._record(method, path, template, label, {}, {}, b"", applied=False)
        if fault.kind == "timeout":
            raise SimulatedTimeout(self._timeout_sleep(fault))
        if fault.kind == "drop":
            raise SimulatedDrop("emulated dropped connection")
        if fault.kind == "connect":
            raise SimulatedConnectError("emulated connection refused")
        if fault.body is not None:
            err = ApiError(fault.status, "", headers=fault.headers, body=fault.body)
        else:
            err = error_for_status(fault.status, fault.code, fault.headers)
        return self._error_result(err)

    def _result(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> Result:
        headers = {"x-request-id": "req_" + secrets.token_hex(16), "openai-processing-ms": "1"}
        if isinstance(payload, bytes):
            headers["content-type"] = "application/octet-stream"
            data = payload
        else:
            headers["content-type"] = "application/json"
            data = _json_bytes(payload)
        headers.update(extra_headers or {})
        return status, headers, data

    def _error_result(self, err: ApiError) -> Result:
        return self._result(err.status, err.payload(), err.headers)

    def _record(
        self,
        method: str,
        path: str,
        template: str,
        status: Any,
        query: dict[str, Any],
        headers: dict[str, str],
        body: bytes,
        applied: bool = True,
    ) -> None:
        self._calls[f"{method} {template}"] += 1
        self._counters[f"{method} {template} {status}"] += 1
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "template": template,
            "status": status,
            "query": query,
            "applied": applied,
            "time": self._clock(),
        }
        if body and headers.get("content-type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                entry["json"] = json.loads(body)
        self._requests.append(entry)
        del self._requests[: -self.keep_requests]

    def _take_outbox(self) -> list[tuple[str, str]]:
        outbox, self._outbox = self._outbox, []
        return outbox

    def _flush(self, outbox: list[tuple[str, str]]) -> None:
        for event_type, response_id in outbox:
            self._webhooks.deliver(event_type, response_id)

    _ROUTE_TABLE: ClassVar[list[tuple[str, str, str]]] = [
        ("POST", "/v1/conversations", "create_conversation"),
        ("GET", "/v1/conversations/{conversation_id}", "get_conversation"),
        ("POST", "/v1/conversations/{conversation_id}", "update_conversation"),
        ("DELETE", "/v1/conversations/{conversation_id}", "delete_conversation"),
        ("POST", "/v1/conversations/{conversation_id}/items", "create_items"),
        ("GET", "/v1/conversations/{conversation_id}/items", "list_items"),
        ("GET", "/v1/conversations/{conversation_id}/items/{item_id}", "get_item"),
        ("DELETE", "/v1/conversations/{conversation_id}/items/{item_id}", "delete_item"),
        ("POST", "/v1/responses", "create_response"),
        ("GET", "/v1/responses/{response_id}", "get_response"),
        ("DELETE", "/v1/responses/{response_id}", "delete_response"),
        ("POST", "/v1/responses/{response_id}/cancel", "cancel_response"),
        ("GET", "/v1/responses/{response_id}/input_items", "list_input_items"),
        ("POST", "/v1/files", "create_file"),
        ("GET", "/v1/files", "list_files"),
        ("GET", "/v1/files/{file_id}", "get_file"),
        ("DELETE", "/v1/files/{file_id}", "delete_file"),
        ("GET", "/v1/files/{file_id}/content", "file_content"),
        ("GET", "/v1/containers/{container_id}/files/{file_id}/content", "container_file_content"),
        ("POST", "/v1/vector_stores", "create_vector_store"),
        ("GET", "/v1/vector_stores", "list_vector_stores"),
        ("GET", "/v1/vector_stores/{vector_store_id}", "get_vector_store"),
        ("POST", "/v1/vector_stores/{vector_store_id}", "update_vector_store"),
        ("DELETE", "/v1/vector_stores/{vector_store_id}", "delete_vector_store"),
        ("POST", "/v1/vector_stores/{vector_store_id}/files", "create_vs_file"),
        ("GET", "/v1/vector_stores/{vector_store_id}/files", "list_vs_files"),
        ("GET", "/v1/vector_stores/{vector_store_id}/files/{file_id}", "get_vs_file"),
        ("DELETE", "/v1/vector_stores/{vector_store_id}/files/{file_id}", "delete_vs_file"),
        ("POST", "/v1/vector_stores/{vector_store_id}/search", "search_vector_store"),
    ]
    _ROUTES: ClassVar[list[tuple[str, re.Pattern, str, str]]] = [
        (m, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "/?$"), t, n) for m, t, n in _ROUTE_TABLE
    ]

    def _route(self, method: str, path: str):
        template = None
        for route_method, regex, tmpl, name in self._ROUTES:
            match = regex.match(path)
            if match:
                template = template or tmpl
                if route_method == method:
                    return getattr(self, "_h_" + name), match.groupdict(), tmpl
        return None, {}, template or "unknown"

    def _call(self, handler, params, query, headers, body) -> tuple[int, Any, dict[str, str]]:
        ctype = headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            try:
                data: Any = parse_multipart(ctype, body)
            except ValueError as exc:
                raise ApiError(400, f"Could not parse multipart body: {exc}") from None
        elif body:
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(
                    400,
                    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                    "using your HTTP library correctly.)",
                ) from None
        else:
            data = {}
        result = handler(params, query, data)
        if isinstance(result, tuple):
            status, payload = result[0], result[1]
            return status, payload, (result[2] if len(result) > 2 else {})
        return 200, result, {}

    def _now(self) -> int:
        return int(self._clock())

    # ------------------------------------------------------------------ control API
    def _control(self, method: str, path: str, body: bytes) -> Result:
        try:
            data = json.loads(body) if body else {}
            if method == "GET" and path == "/_emulator/state":
                payload: Any = self.state()
            elif method == "GET" and path == "/_emulator/config":
                payload = self.config()
            elif method == "GET" and path == "/_emulator/health":
                payload = {"ok": True}
            elif method == "POST" and path == "/_emulator/config":
                payload = self.configure(**data)
            elif method == "POST" and path == "/_emulator/reset":
                self.reset(keep_config=bool(data.get("keep_config", False)))
                payload = {"ok": True}
            elif method == "POST" and path == "/_emulator/fail_next":
                for rule in data if isinstance(data, list) else [data]:
                    self.fail_next(**rule)
                payload = {"ok": True, "fail_next": self._faults.as_dict()["fail_next"]}
            elif method == "POST" and path == "/_emulator/tick":
                self.tick(force=bool(data.get("force", False)))
                payload = {"ok": True}
            else:
                return self._result(404, {"error": f"unknown control endpoint {method} {path}"})
        except (ValueError, TypeError) as exc:
            return self._result(400, {"error": str(exc)})
        return self._result(200, payload)

    def state(self) -> dict[str, Any]:
        """A JSON-able dump of everything (used by GET /_emulator/state)."""
        with self._lock:
            return copy.deepcopy(
                {
                    "conversations": {
                        c.id: {**c.json(), "deleted": c.deleted, "items": c.items} for c in self._conversations.values()
                    },
                    "responses": {
                        r.id: {
                            **self._response_json(r, full=True),
                            "input": r.new_input,
                            "stored": r.stored,
                        }
                        for r in self._responses.values()
                    },
                    "files": {
                        f.id: {
                            **f.json(),
                            "deleted": f.deleted,
                            "preview": f.data[:200].decode("utf-8", errors="replace"),
                        }
                        for f in self._files.values()
                    },
                    "vector_stores": {
                        v.id: {
                            **self._vs_json(v),
                            "deleted": v.deleted,
                            "files": {fid: rec["attributes"] for fid, rec in v.files.items()},
                        }
                        for v in self._vector_stores.values()
                    },
                    "counters": dict(self._counters),
                    "counters_list": [
                        {
                            "method": k.split(" ", 2)[0],
                            "path": k.split(" ", 2)[1],
                            "status": k.split(" ", 2)[2],
                            "count": v,
                        }
                        for k, v in sorted(self._counters.items())
                    ],
                    "calls": dict(self._calls),
                    "webhooks": list(self._webhooks.deliveries),
                    "requests": self._requests[-200:],
                    "config": self.config(),
                }
            )

    # ------------------------------------------------------------------ items
    def _normalize_items(self, raw: Any, param: str) -> list[dict[str, Any]]:
        if isinstance(raw, str):
            raw = [{"type": "message", "role": "user", "content": raw}]
        if not isinstance(raw, list):
            raise ApiError(400, f"Invalid type for '{param}': expected an array.", param=param, code="invalid_type")
        return [self._normalize_item(item, f"{param}[{n}]") for n, item in enumerate(raw)]

    def _normalize_item(self, raw: Any, param: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ApiError(400, f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type")
        item = copy.deepcopy(raw)
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind is None:
            raise ApiError(
                400,
                f"Missing required parameter: '{param}.type'.",
                param=f"{param}.type",
                code="missing_required_parameter",
            )
        item["type"] = kind
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise ApiError(
                    400,
                    f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
                    param=f"{param}.role",
                    code="invalid_value",
                )
            content = item.get("content")
            text_type = "output_text" if role == "assistant" else "input_text"
            if isinstance(content, str):
                content = [{"type": text_type, "text": content}]
            if not isinstance(content, list):
                raise ApiError(
                    400,
                    f"Missing required parameter: '{param}.content'.",
                    param=f"{param}.content",
                    code="missing_required_parameter",
                )
            item["content"] = [self._check_part(p, f"{param}.content[{i}]") for i, p in enumerate(content)]
            item.setdefault("status", "completed")
        elif kind == "function_call_output":
            if not item.get("call_id"):
                raise ApiError(
                    400,
                    f"Missing required parameter: '{param}.call_id'.",
                    param=f"{param}.call_id",
                    code="missing_required_parameter",
                )
            if "output" not in item:
                raise ApiError(
                    400,
                    f"Missing required parameter: '{param}.output'.",
                    param=f"{param}.output",
                    code="missing_required_parameter",
                )
            item.setdefault("status", "completed")
        elif kind == "function_call":
            for key in ("call_id", "name", "arguments"):
                if key not in item:
                    raise ApiError(
                        400,
                        f"Missing required parameter: '{param}.{key}'.",
                        param=f"{param}.{key}",
                        code="missing_required_parameter",
                    )
            item.setdefault("status", "completed")
        elif kind == "item_reference":
            raise ApiError(
                400,
                "item_reference input items are not supported by the emulator.",
                param=param,
                code="unsupported_value",
            )
        if not item.get("id"):
            item["id"] = new_id(ITEM_ID_PREFIX.get(kind, "item_"))
        return item

    def _check_part(self, part: Any, param: str) -> dict[str, Any]:
        if not isinstance(part, dict) or "type" not in part:
            raise ApiError(400, f"Invalid content part at '{param}'.", param=param, code="invalid_type")
        ptype = part["type"]
        if ptype in ("input_text", "output_text"):
            if not isinstance(part.get("text"), str):
                raise ApiError(
                    400,
                    f"Missing required parameter: '{param}.text'.",
                    param=f"{param}.text",
                    code="missing_required_parameter",
                )
            if ptype == "output_text":
                part.setdefault("annotations", [])
        elif ptype == "input_image":
            if not (part.get("image_url") or part.get("file_id")):
                raise ApiError(
                    400, f"'{param}' needs image_url or file_id.", param=param, code="missing_required_parameter"
                )
            self._check_file_ref(part.get("file_id"), param)
        elif ptype == "input_file":
            if not (part.get("file_id") or part.get("file_data") or part.get("file_url")):
                raise ApiError(
                    400,
                    f"'{param}' needs file_id, file_data or file_url.",
                    param=param,
                    code="missing_required_parameter",
                )
            self._check_file_ref(part.get("file_id"), param)
        elif ptype != "refusal":
            raise ApiError(
                400,
                f"Invalid value: '{ptype}'. Supported values are: 'input_text', 'input_image', "
                f"'input_file', 'output_text' and 'refusal'.",
                param=f"{param}.type",
                code="invalid_value",
            )
        return part

    def _check_file_ref(self, file_id: str | None, param: str) -> None:
        if file_id and (file_id not in self._files or self._files[file_id].deleted):
            raise ApiError(400, f"File '{file_id}' not found.", param=f"{param}.file_id", code="file_not_found")

    # ------------------------------------------------------------------ conversations
    def _conversation(self, cid: str) -> _Conversation:
        conv = self._conversations.get(cid)
        if conv is None or conv.deleted:
            raise ApiError(404, f"Conversation with id '{cid}' not found.")
        return conv

    def _conversation_busy(self, cid: str) -> bool:
        return any(r.conversation_id == cid and r.status in IN_FLIGHT for r in self._responses.values())

    def _check_items_count(self, items: Any, param: str) -> None:
        if isinstance(items, list) and len(items) > MAX_ITEMS_PER_CALL:
            raise ApiError(
                400,
                f"Invalid '{param}': array too long. Expected an array with maximum length "
                f"{MAX_ITEMS_PER_CALL}, but got an array with length {len(items)} instead.",
                param=param,
                code="array_above_max_length",
            )

    def _h_create_conversation(self, params, query, data):
        items = data.get("items") or []
        self._check_items_count(items, "items")
        metadata = validate_metadata(data.get("metadata"))
        normalized = self._normalize_items(items, "items")
        conv = _Conversation(new_id("conv_"), self._now(), metadata)
        conv.items.extend(normalized)
        self._conversations[conv.id] = conv
        return conv.json()

    def _h_get_conversation(self, params, query, data):
        return self._conversation(params["conversation_id"]).json()

    def _h_update_conversation(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        if "metadata" not in data:
            raise ApiError(
                400, "Missing required parameter: 'metadata'.", param="metadata", code="missing_required_parameter"
            )
        # The emulator REPLACES the whole map (the real semantics are undocumented).
        conv.metadata = validate_metadata(data.get("metadata"))
        return conv.json()

    def _h_delete_conversation(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        conv.deleted = True
        return {"id": conv.id, "object": "conversation.deleted", "deleted": True}

    def _h_create_items(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        items = data.get("items")
        if items is None:
            raise ApiError(
                400, "Missing required parameter: 'items'.", param="items", code="missing_required_parameter"
            )
        self._check_items_count(items, "items")
        if self._conversation_busy(conv.id):
            raise conversation_locked_error()
        normalized = self._normalize_items(items, "items")
        conv.items.extend(normalized)
        return {
            "object": "list",
            "data": normalized,
            "first_id": normalized[0]["id"] if normalized else None,
            "last_id": normalized[-1]["id"] if normalized else None,
            "has_more": False,
        }

    def _h_list_items(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        return paginate(conv.items, query, "desc")

    def _find_item(self, conv: _Conversation, item_id: str) -> dict[str, Any]:
        for item in conv.items:
            if item.get("id") == item_id:
                return item
        raise ApiError(404, f"Item with id '{item_id}' not found.")

    def _h_get_item(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        return self._find_item(conv, params["item_id"])

    def _h_delete_item(self, params, query, data):
        conv = self._conversation(params["conversation_id"])
        item = self._find_item(conv, params["item_id"])
        conv.items.remove(item)
        return conv.json()

    # ------------------------------------------------------------------ responses
    def _response(self, rid: str) -> _Response:
        resp = self._responses.get(rid)
        if resp is None or not resp.stored:
            raise ApiError(404, f"Response with id '{rid}' not found.")
        return resp

    def _h_create_response(self, params, query, data):
        model = data.get("model")
        if not model or not isinstance(model, str):
            raise ApiError(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        conversation = data.get("conversation")
        if isinstance(conversation, dict):
            conversation = conversation.get("id")
        previous = data.get("previous_response_id")
        if conversation and previous:
            raise ApiError(
                400,
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                param="previous_response_id",
                code="mutually_exclusive_parameters",
            )
        metadata = validate_metadata(data.get("metadata"))
        tools = data.get("tools") or []
        if not isinstance(tools, list):
            raise ApiError(400, "Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
        for n, tool in enumerate(tools):
            if not isinstance(tool, dict) or "type" not in tool:
                raise ApiError(
                    400,
                    f"Missing required parameter: 'tools[{n}].type'.",
                    param=f"tools[{n}].type",
                    code="missing_required_parameter",
                )
            if tool["type"] == "function" and not tool.get("name"):
                raise ApiError(
                    400,
                    f"Missing required parameter: 'tools[{n}].name'.",
                    param=f"tools[{n}].name",
                    code="missing_required_parameter",
                )
            if tool["type"] == "code_interpreter":
                container = tool.get("container")
                auto = isinstance(container, dict) and container.get("type") == "auto"
                if not auto and not (isinstance(container, str) and container in self._containers):
                    raise ApiError(
                        400,
                        f"Invalid value for 'tools[{n}].container': expected a container id or {{'type': 'auto'}}.",
                        param=f"tools[{n}].container",
                        code="invalid_value",
                    )
            if tool["type"] == "file_search":
                for vid in tool.get("vector_store_ids") or []:
                    if vid not in self._vector_stores or self._vector_stores[vid].deleted:
                        raise ApiError(
                            400,
                            f"Vector store with id '{vid}' not found.",
                            param=f"tools[{n}].vector_store_ids",
                            code="invalid_value",
                        )
        safety = data.get("safety_identifier")
        if safety is not None and (not isinstance(safety, str) or len(safety) > 128):
            raise ApiError(
                400,
                "Invalid 'safety_identifier': string too long. Expected a string with maximum length 128.",
                param="safety_identifier",
                code="string_above_max_length",
            )
        max_out = data.get("max_output_tokens")
        if max_out is not None and (not isinstance(max_out, int) or max_out < 16):
            raise ApiError(
                400,
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
        raw_input = data.get("input")
        if raw_input is None and not conversation and not previous:
            raise ApiError(
                400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
            )
        new_input = self._normalize_items(raw_input if raw_input is not None else [], "input")

        context: list[dict[str, Any]] = []
        if conversation:
            conv = self._conversations.get(conversation)
            if conv is None or conv.deleted:
                raise ApiError(404, f"Conversation with id '{conversation}' not found.", param="conversation")
            if self._conversation_busy(conv.id):
                raise conversation_locked_error()
            context = copy.deepcopy(conv.items)
        elif previous:
            prev = self._responses.get(previous)
            if prev is None or not prev.stored:
                raise ApiError(404, f"Previous response with id '{previous}' not found.", param="previous_response_id")
            context = copy.deepcopy(prev.context + prev.new_input + prev.output)

        background = bool(data.get("background"))
        store = data.get("store")
        store = True if store is None else bool(store)
        resp = _Response(new_id("resp_"), copy.deepcopy(data))
        resp.context = context
        resp.new_input = new_input
        resp.conversation_id = conversation or None
        resp.background = background
        resp.stored = store or background
        resp.include = list(data.get("include") or [])
        resp.created = self._clock()
        resp.ready_at = resp.created + self.latency
        resp.data = {
            "id": resp.id,
            "object": "response",
            "created_at": int(resp.created),
            "status": "queued" if background else "in_progress",
            "background": background,
            "completed_at": None,
            "conversation": {"id": conversation} if conversation else None,
            "error": None,
            "incomplete_details": None,
            "instructions": data.get("instructions"),
            "max_output_tokens": max_out,
            "max_tool_calls": data.get("max_tool_calls"),
            "metadata": metadata,
            "model": model,
            "parallel_tool_calls": data.get("parallel_tool_calls", True),
            "previous_response_id": previous,
            "prompt_cache_key": data.get("prompt_cache_key"),
            "reasoning": data.get("reasoning") or {"effort": None, "summary": None},
            "safety_identifier": safety,
            "service_tier": data.get("service_tier") or "default",
            "store": store,
            "temperature": data.get("temperature", 1.0),
            "text": data.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": data.get("tool_choice", "auto"),
            "tools": copy.deepcopy(tools),
            "top_p": data.get("top_p", 1.0),
            "truncation": data.get("truncation") or "disabled",
            "usage": None,
            "user": data.get("user"),
        }
        self._responses[resp.id] = resp
        if not background:
            self._finish(resp)
        return self._response_json(resp)

    def _response_json(self, resp: _Response, include: list[str] | None = None, full: bool = False):
        out = copy.deepcopy(resp.data)
        wanted = set(resp.include) | set(include or [])
        output = copy.deepcopy(resp.output)
        if not full and "file_search_call.results" not in wanted:
            for item in output:
                if item.get("type") == "file_search_call":
                    item["results"] = None
        out["output"] = output
        return out

    def _h_get_response(self, params, query, data):
        resp = self._response(params["response_id"])
        if resp.background:
            if resp.status == "queued":
                resp.data["status"] = "in_progress"
            elif resp.status == "in_progress" and self._clock() >= resp.ready_at:
                self._finish(resp)
        return self._response_json(resp, _qlist(query, "include"))

    def _h_delete_response(self, params, query, data):
        resp = self._response(params["response_id"])
        if resp.status in IN_FLIGHT:
            self._cancel(resp)
        del self._responses[resp.id]
        return {"id": resp.id, "object": "response", "deleted": True}

    def _h_cancel_response(self, params, query, data):
        resp = self._response(params["response_id"])
        if not resp.background:
            raise ApiError(400, "Cannot cancel a synchronous response.", param="response_id", code="invalid_request")
        if resp.status in IN_FLIGHT:
            self._cancel(resp)
        return self._response_json(resp)

    def _h_list_input_items(self, params, query, data):
        resp = self._response(params["response_id"])
        return paginate(resp.new_input, query, "desc")

    def _cancel(self, resp: _Response) -> None:
        resp.data["status"] = "cancelled"
        if resp.background:
            self._outbox.append(("response.cancelled", resp.id))

    def _advance_all(self, force: bool = False) -> None:
        now = self._clock()
        for resp in list(self._responses.values()):
            if not resp.background or resp.status not in IN_FLIGHT:
                continue
            if force or now >= resp.ready_at:
                self._finish(resp)
            elif resp.status == "queued" and now >= resp.created + self.latency / 2:
                resp.data["status"] = "in_progress"

    def _run_brain(self, resp: _Response) -> _brain.BrainResult:
        if self._script is not None:
            try:
                raw = self._script(copy.deepcopy(resp.request), copy.deepcopy(resp.context + resp.new_input))
            except Exception as exc:  # noqa: BLE001 - a broken script fails the response, like a model error
                return _brain.BrainResult(status="failed", error={"code": "server_error", "message": repr(exc)})
            return _brain.coerce_script_result(raw)
        return _brain.run_default_brain(resp.request, resp.context, resp.new_input, self._rules, self._search)

    def _finish(self, resp: _Response) -> None:
        result = self._run_brain(resp)
        output = []
        for item in result.output:
            item = copy.deepcopy(item)
            kind = item.setdefault("type", "message")
            if kind == "function_call" and not item.get("call_id"):
                item["call_id"] = new_id("call_")[:29]
            if not item.get("id"):
                item["id"] = new_id(ITEM_ID_PREFIX.get(kind, "item_"))
            output.append(item)
        status = result.status
        incomplete = result.incomplete_details
        out_tokens = sum(_brain.item_tokens(i) for i in output)
        max_out = resp.data.get("max_output_tokens")
        if max_out and out_tokens > max_out and status == "completed":
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
            budget = max_out * 4
            for item in output:
                for part in item.get("content") or []:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        part["text"] = part["text"][:budget]
                        budget = max(0, budget - len(part["text"]))
            out_tokens = sum(_brain.item_tokens(i) for i in output)
        if status == "failed":
            output = []
            out_tokens = 0
        if status == "completed":
            output = self._code_interpreter(resp, output)
        resp.output = output
        resp.data["status"] = status
        resp.data["error"] = result.error
        resp.data["incomplete_details"] = incomplete
        resp.data["usage"] = self._usage(resp, out_tokens)
        if status == "completed":
            resp.data["completed_at"] = self._now()
        if status in ("completed", "incomplete") and resp.conversation_id:
            conv = self._conversations.get(resp.conversation_id)
            if conv is not None and not conv.deleted:
                conv.items.extend(copy.deepcopy(resp.new_input + output))
        if resp.background:
            self._outbox.append((f"response.{status}", resp.id))

    def _code_interpreter(self, resp: _Response, output: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """With the code_interpreter tool: a code_interpreter_call, which writes a CSV file, cited by
        the reply as a container_file_citation (the file is served at
        GET /v1/containers/{id}/files/{file_id}/content). An "auto" container is the one an earlier
        call of the conversation used (still active, as OpenAI reuses it), else a new one."""
        tools = resp.data.get("tools") or []
        tool = next((t for t in tools if isinstance(t, dict) and t.get("type") == "code_interpreter"), None)
        message = next((i for i in reversed(output) if i.get("type") == "message"), None)
        if tool is None or message is None:
            return output
        container = tool["container"] if isinstance(tool["container"], str) else None
        conv = self._conversations.get(resp.conversation_id) if resp.conversation_id else None
        if container is None and conv is not None:
            earlier = [i for i in conv.items if i.get("type") == "code_interpreter_call"]
            container = earlier[-1]["container_id"] if earlier else None
        container = container or new_id("cntr_")
        file_id = new_id("cfile_")
        filename = "result.csv"
        data = ("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(1, 6))).encode()
        self._containers.setdefault(container, {})[file_id] = (filename, data)
        call = {
            "id": new_id("ci_"),
            "type": "code_interpreter_call",
            "status": "completed",
            "container_id": container,
            "code": "import csv\n# writes /mnt/data/result.csv",
            "outputs": [{"type": "logs", "logs": "wrote result.csv"}],
        }
        part = message["content"][0]
        link = f" [{filename}](sandbox:/mnt/data/{filename})"
        start = len(part["text"])
        part["text"] += link
        part.setdefault("annotations", []).append(
            {
                "type": "container_file_citation",
                "container_id": container,
                "file_id": file_id,
                "filename": filename,
                "start_index": start,
                "end_index": start + len(link),
            }
        )
        at = output.index(message)
        return [*output[:at], call, *output[at:]]

    def _h_container_file_content(self, params, query, data):
        files = self._containers.get(params["container_id"])
        if files is None or params["file_id"] not in files:
            raise ApiError(404, f"No such container file: {params['file_id']}", param="file_id")
        return 200, files[params["file_id"]][1]

    def _usage(self, resp: _Response, out_tokens: int) -> dict[str, Any]:
        """Approximate usage. Tokens are ceil(chars/4) per item (images/files +85 each).

        input_tokens = instructions + every context item (conversation history / previous_response chain)
        + this request's input. cached_tokens: the prompt is the sequence [instructions, *items]; for the
        same ``prompt_cache_key`` the emulator remembers the previous prompt and counts the tokens of the
        longest common leading run (by item content, ids ignored). No key -> 0. Below
        ``cache_min_tokens`` the cached count is 0 (the real API needs >= 1024)."""
        instructions = resp.data.get("instructions") or ""
        prompt_items = resp.context + resp.new_input
        seq = [("instructions", instructions)] + [("item", _fingerprint(i)) for i in prompt_items]
        costs = [_brain.estimate_tokens(instructions)] + [_brain.item_tokens(i) for i in prompt_items]
        input_tokens = sum(costs)
        cached = 0
        key = resp.data.get("prompt_cache_key")
        if key:
            previous = self._cache.get(key)
            if previous:
                for (mine, cost), theirs in zip(zip(seq, costs), previous["seq"]):
                    if mine != theirs:
                        break
                    cached += cost
            if cached < self.cache_min_tokens:
                cached = 0
            self._cache[key] = {"seq": seq}
        return {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + out_tokens,
        }

    # ------------------------------------------------------------------ files
    def _file(self, fid: str) -> _File:
        f = self._files.get(fid)
        if f is None or f.deleted:
            raise ApiError(404, f"No such File object: {fid}", param="id")
        return f

    def _h_create_file(self, params, query, data):
        if not isinstance(data, dict) or "file" not in data:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        part = data["file"]
        purpose = data.get("purpose")
        purpose_text = purpose.text if purpose is not None and hasattr(purpose, "text") else purpose
        if purpose_text not in FILE_PURPOSES:
            raise ApiError(
                400, f"Invalid value for 'purpose': {purpose_text!r}.", param="purpose", code="invalid_value"
            )
        if not hasattr(part, "data"):
            raise ApiError(400, "'file' must be a file upload (multipart/form-data).", param="file")
        created = self._now()
        expires_at = None
        seconds = data.get("expires_after[seconds]")
        if seconds is not None:
            expires_at = created + int(seconds.text)
        f = _File(new_id("file-"), part.filename or "upload", str(purpose_text), part.data, created, expires_at)
        self._files[f.id] = f
        return f.json()

    def _h_list_files(self, params, query, data):
        files = [f.json() for f in self._files.values() if not f.deleted]
        purpose = _qget(query, "purpose")
        if purpose:
            files = [f for f in files if f["purpose"] == purpose]
        return paginate(files, query, "desc")

    def _h_get_file(self, params, query, data):
        return self._file(params["file_id"]).json()

    def _h_delete_file(self, params, query, data):
        f = self._file(params["file_id"])
        f.deleted = True
        return {"id": f.id, "object": "file", "deleted": True}

    def _h_file_content(self, params, query, data):
        return 200, self._file(params["file_id"]).data

    # ------------------------------------------------------------------ vector stores
    def _vs(self, vid: str) -> _VectorStore:
        vs = self._vector_stores.get(vid)
        if vs is None or vs.deleted:
            raise ApiError(404, f"Vector store with id '{vid}' not found.")
        return vs

    def _vs_json(self, vs: _VectorStore) -> dict[str, Any]:
        n = len(vs.files)
        usage = sum(len(self._files[f].data) for f in vs.files if f in self._files)
        return {
            "id": vs.id,
            "object": "vector_store",
            "created_at": vs.created_at,
            "name": vs.name,
            "description": vs.description,
            "usage_bytes": usage,
            "file_counts": {"in_progress": 0, "completed": n, "failed": 0, "cancelled": 0, "total": n},
            "status": "completed",
            "metadata": vs.metadata,
            "expires_after": vs.expires_after,
            "expires_at": None,
            "last_active_at": vs.created_at,
        }

    def _vs_file_json(self, vs: _VectorStore, fid: str) -> dict[str, Any]:
        rec = vs.files[fid]
        f = self._files.get(fid)
        return {
            "id": fid,
            "object": "vector_store.file",
            "created_at": rec["created_at"],
            "vector_store_id": vs.id,
            "status": "completed",
            "usage_bytes": len(f.data) if f else 0,
            "last_error": None,
            "attributes": rec["attributes"],
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
            },
        }

    def _attach(self, vs: _VectorStore, fid: Any, attributes: Any, param: str) -> None:
        if not isinstance(fid, str) or fid not in self._files or self._files[fid].deleted:
            raise ApiError(404, f"No file found with id '{fid}'.", param=param)
        attrs = validate_metadata(attributes, "attributes", attributes=True)
        vs.files[fid] = {"created_at": self._now(), "attributes": attrs}

    def _h_create_vector_store(self, params, query, data):
        metadata = validate_metadata(data.get("metadata"))
        vs = _VectorStore(
            new_id("vs_"), self._now(), data.get("name"), metadata, data.get("description"), data.get("expires_after")
        )
        for n, fid in enumerate(data.get("file_ids") or []):
            self._attach(vs, fid, None, f"file_ids[{n}]")
        self._vector_stores[vs.id] = vs
        return self._vs_json(vs)

    def _h_list_vector_stores(self, params, query, data):
        return paginate([self._vs_json(v) for v in self._vector_stores.values() if not v.deleted], query, "desc")

    def _h_get_vector_store(self, params, query, data):
        return self._vs_json(self._vs(params["vector_store_id"]))

    def _h_update_vector_store(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        if "metadata" in data:
            vs.metadata = validate_metadata(data["metadata"])
        if "name" in data:
            vs.name = data["name"]
        if "expires_after" in data:
            vs.expires_after = data["expires_after"]
        return self._vs_json(vs)

    def _h_delete_vector_store(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        vs.deleted = True
        return {"id": vs.id, "object": "vector_store.deleted", "deleted": True}

    def _h_create_vs_file(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        fid = data.get("file_id")
        self._attach(vs, fid, data.get("attributes"), "file_id")
        return self._vs_file_json(vs, fid)

    def _h_list_vs_files(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        files = [self._vs_file_json(vs, fid) for fid in vs.files]
        return paginate(files, query, "desc")

    def _h_get_vs_file(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        if params["file_id"] not in vs.files:
            raise ApiError(404, f"No file found with id '{params['file_id']}' in vector store '{vs.id}'.")
        return self._vs_file_json(vs, params["file_id"])

    def _h_delete_vs_file(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        fid = params["file_id"]
        if fid not in vs.files:
            raise ApiError(404, f"No file found with id '{fid}' in vector store '{vs.id}'.")
        del vs.files[fid]
        return {"id": fid, "object": "vector_store.file.deleted", "deleted": True}

    def _h_search_vector_store(self, params, query, data):
        vs = self._vs(params["vector_store_id"])
        q = data.get("query")
        if isinstance(q, list):
            q = " ".join(q)
        hits = self._search([vs.id], str(q or ""))[: int(data.get("max_num_results") or 10)]
        return {
            "object": "vector_store.search_results.page",
            "search_query": [q],
            "data": [
                {
                    "file_id": h["file_id"],
                    "filename": h["filename"],
                    "score": h["score"],
                    "attributes": h["attributes"],
                    "content": [{"type": "text", "text": h["text"]}],
                }
                for h in hits
            ],
            "has_more": False,
            "next_page": None,
        }

    def _search(self, vector_store_ids: list[str], query: str) -> list[dict[str, Any]]:
        """Files whose text contains any word (>= 3 letters) of the query; score = share of words found."""
        words = sorted({w for w in re.findall(r"\w+", query.lower()) if len(w) >= 3})
        hits: list[dict[str, Any]] = []
        if not words:
            return hits
        for vid in vector_store_ids:
            vs = self._vector_stores.get(vid)
            if vs is None or vs.deleted:
                continue
            for fid, rec in vs.files.items():
                f = self._files.get(fid)
                if f is None or f.deleted:
                    continue
                text = f.data.decode("utf-8", errors="ignore")
                lower = text.lower()
                found = [w for w in words if w in lower]
                if not found:
                    continue
                pos = lower.index(found[0])
                hits.append(
                    {
                        "file_id": fid,
                        "filename": f.filename,
                        "score": round(len(found) / len(words), 4),
                        "text": text[max(0, pos - 80) : pos + 200],
                        "attributes": rec["attributes"],
                    }
                )
        hits.sort(key=lambda h: -h["score"])
        return hits
