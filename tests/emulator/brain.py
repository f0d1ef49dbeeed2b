"""The emulated "model": a deterministic echo brain steered by canned rules or a Python script.

Rules (configured with ``Emulator.set_rules`` or ``POST /_emulator/config {"rules": [...]}``), first match wins:

* ``{"when_contains": "refund", "function_call": {"name": "lookup_order", "arguments": {"id": 1}}}``
  -> a ``function_call`` output item, only when the request's tools contain a function tool with that
  name and the request does not already carry a ``function_call_output``. ``function_call`` may also be
  a list (parallel calls).
* ``{"when_contains": "hello", "reply": "Hi there"}`` -> an assistant message with that text.
* ``{"when_contains": "boom", "fail": {"code": "server_error", "message": "..."}}`` -> status ``failed``.
* ``{"when_contains": "long", "incomplete": "max_output_tokens"}`` -> status ``incomplete``.

``when_contains`` is a case-insensitive substring of the last user text; omit it to match always.
Without a matching rule: after a ``function_call_output`` the reply is
``"Emulated reply to: <last user text> [tool <name>: <output>]"``, otherwise
``"Emulated reply to: <last user text[:200]>"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SearchFn = Callable[[list[str], str], list[dict[str, Any]]]


@dataclass
class BrainResult:
    output: list[dict[str, Any]] = field(default_factory=list)
    status: str = "completed"
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None


def content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") == "input_file" and part.get("filename"):
                    texts.append(str(part["filename"]))
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts)
    return str(content)


def item_text(item: dict[str, Any]) -> str:
    """The text of an item, as used for token estimates and by the echo brain."""
    kind = item.get("type", "message")
    if kind == "message":
        return content_text(item.get("content"))
    if kind == "function_call":
        return f"{item.get('name', '')}{item.get('arguments', '')}"
    if kind == "function_call_output":
        return content_text(item.get("output"))
    if kind == "file_search_call":
        return " ".join(item.get("queries") or [])
    return json.dumps({k: v for k, v in item.items() if k not in ("id", "status")}, sort_keys=True)


def estimate_tokens(text: str) -> int:
    """ceil(chars / 4): the emulator's whole tokenizer."""
    return math.ceil(len(text) / 4) if text else 0


def item_tokens(item: dict[str, Any]) -> int:
    tokens = estimate_tokens(item_text(item))
    if item.get("type", "message") == "message" and isinstance(item.get("content"), list):
        # images / files count a flat amount (no real tokenizer here)
        for part in item["content"]:
            if isinstance(part, dict) and part.get("type") in ("input_image", "input_file"):
                tokens += 85
    return tokens


def last_user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return content_text(item.get("content"))
    return ""


def assistant_message(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": list(annotations or []), "logprobs": []}],
    }


def _function_tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [t.get("name") for t in tools or [] if isinstance(t, dict) and t.get("type") == "function"]


def _rule_matches(rule: dict[str, Any], user_text: str) -> bool:
    needle = rule.get("when_contains")
    if needle is None:
        return True
    return str(needle).lower() in user_text.lower()


def _function_calls(spec: Any) -> list[dict[str, Any]]:
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for one in specs:
        args = one.get("arguments", {})
        out.append(
            {
                "type": "function_call",
                "name": one["name"],
                "arguments": args if isinstance(args, str) else json.dumps(args),
                "status": "completed",
            }
        )
    return out


def run_default_brain(
    request: dict[str, Any],
    context: list[dict[str, Any]],
    new_input: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    search: SearchFn,
) -> BrainResult:
    """``context`` = history before this response, ``new_input`` = this request's normalized input."""
    everything = list(context) + list(new_input)
    user_text = last_user_text(everything)
    tools = request.get("tools") or []
    fn_names = _function_tool_names(tools)
    tool_outputs = [i for i in new_input if i.get("type") == "function_call_output"]

    reply_text: str | None = None
    for rule in rules:
        if not _rule_matches(rule, user_text):
            continue
        if "function_call" in rule:
            calls = rule["function_call"]
            names = [c.get("name") for c in (calls if isinstance(calls, list) else [calls])]
            if tool_outputs or not all(n in fn_names for n in names):
                continue
            return BrainResult(output=_function_calls(calls))
        if "fail" in rule:
            fail = rule["fail"] or {}
            return BrainResult(
                status="failed",
                error={"code": fail.get("code", "server_error"), "message": fail.get("message", "Emulated failure.")},
            )
        if "incomplete" in rule:
            return BrainResult(
                output=[assistant_message(rule.get("reply", "Emulated partial reply"))],
                status="incomplete",
                incomplete_details={"reason": rule["incomplete"] or "max_output_tokens"},
            )
        if "reply" in rule:
            reply_text = str(rule["reply"])
            break

    if reply_text is None:
        reply_text = f"Emulated reply to: {user_text[:200]}"
        if tool_outputs:
            calls_by_id = {i.get("call_id"): i for i in everything if i.get("type") == "function_call"}
            for out in tool_outputs:
                call = calls_by_id.get(out.get("call_id")) or {}
                reply_text += f" [tool {call.get('name', '?')}: {content_text(out.get('output'))[:200]}]"

    output: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            hits = search(list(tool.get("vector_store_ids") or []), user_text)
            limit = tool.get("max_num_results")
            if limit:
                hits = hits[: int(limit)]
            output.append(
                {
                    "type": "file_search_call",
                    "status": "completed",
                    "queries": [user_text],
                    "results": hits,
                }
            )
            for hit in hits:
                annotations.append(
                    {
                        "type": "file_citation",
                        "file_id": hit["file_id"],
                        "filename": hit["filename"],
                        "index": len(reply_text),
                    }
                )
    output.append(assistant_message(reply_text, annotations))
    return BrainResult(output=output)


def coerce_script_result(result: Any) -> BrainResult:
    """A script may return a list of output items or a dict {output, status, error, incomplete_details}.
    Message items may have a plain string ``content`` (turned into one output_text part); a bare string
    becomes one assistant message."""
    if isinstance(result, BrainResult):
        return result
    if isinstance(result, str):
        return BrainResult(output=[assistant_message(result)])
    if isinstance(result, dict) and ("output" in result or "status" in result):
        out = BrainResult(
            output=list(result.get("output") or []),
            status=result.get("status", "completed"),
            error=result.get("error"),
            incomplete_details=result.get("incomplete_details"),
        )
    elif isinstance(result, dict):
        out = BrainResult(output=[result])
    else:
        out = BrainResult(output=list(result or []))
    fixed = []
    for item in out.output:
        item = dict(item)
        item.setdefault("type", "message")
        if item["type"] == "message":
            item.setdefault("role", "assistant")
            item.setdefault("status", "completed")
            if isinstance(item.get("content"), str):
                item["content"] = [{"type": "output_text", "text": item["content"], "annotations": [], "logprobs": []}]
        elif item["type"] == "function_call":
            if not isinstance(item.get("arguments"), str):
                item["arguments"] = json.dumps(item.get("arguments") or {})
            item.setdefault("status", "completed")
        fixed.append(item)
    out.output = fixed
    return out
