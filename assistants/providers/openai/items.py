"""Local messages as conversation input items, and what the model's output items say."""

from __future__ import annotations

import json

from assistants.models import KnowledgeArticle, Message
from assistants.providers.base import ToolCall
from assistants.providers.openai import remote_files

ROLE_OF = {Message.Role.USER: "user", Message.Role.ASSISTANT: "assistant", Message.Role.DEVELOPER: "developer"}


def message_item(message: Message, client, hooks, *, look_first: bool = False) -> dict:
    """One local message as a conversation input item (a customer's attachments as file parts)."""
    role = ROLE_OF.get(message.role, "user")
    # `has_files` (when the caller read it with the message) spares the look for files.
    has_files = role == "user" and getattr(message, "has_files", True)
    attachments = list(message.attachments.all()) if has_files else []
    if not attachments:
        return {"type": "message", "role": role, "content": message.body}
    parts: list[dict] = [{"type": "input_text", "text": message.body}]
    parts.extend(remote_files.attachment_parts(client, attachments, hooks, look_first=look_first))
    return {"type": "message", "role": role, "content": parts}


def call_output_item(call_id: str, output: str) -> dict:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def function_call_item(call: dict) -> dict:
    return {
        "type": "function_call",
        "call_id": call["call_id"],
        "name": call.get("name", ""),
        "arguments": json.dumps(call.get("arguments") or {}),
    }


def arguments(raw) -> dict:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {"_invalid_json": str(raw)[:200]}
    return value if isinstance(value, dict) else {"_value": value}


def item_text(item) -> str:
    content = getattr(item, "content", None)
    if isinstance(content, str):
        return content
    texts = [getattr(p, "text", None) for p in content or []]
    return "\n".join(t for t in texts if isinstance(t, str))


def item_file_ids(item) -> set[str]:
    """The uploaded files a message item carries (input_file / input_image parts)."""
    content = getattr(item, "content", None)
    if isinstance(content, str):
        return set()
    return {f for p in content or [] if isinstance(f := getattr(p, "file_id", None), str) and f}


def tool_calls(items) -> list[ToolCall]:
    return [
        ToolCall(call_id=i.call_id, name=i.name, arguments=arguments(i.arguments))
        for i in items
        if getattr(i, "type", "") == "function_call"
    ]


def output_text_and_citations(items) -> tuple[str, list[str]]:
    texts, file_ids = [], []
    for item in items:
        if getattr(item, "type", "") != "message" or getattr(item, "role", "assistant") != "assistant":
            continue
        for part in getattr(item, "content", None) or []:
            if getattr(part, "type", "") != "output_text":
                continue
            texts.append(part.text or "")
            for note in getattr(part, "annotations", None) or []:
                if getattr(note, "type", "") == "file_citation" and getattr(note, "file_id", None):
                    file_ids.append(note.file_id)
    return "\n".join(texts), file_ids


def citations(file_ids: list[str]) -> list[dict]:
    """Citations point at our own articles only: any other file id is dropped."""
    if not file_ids:
        return []
    articles = {a.remote_file_id: a for a in KnowledgeArticle.objects.filter(remote_file_id__in=set(file_ids))}
    out, seen = [], set()
    for fid in file_ids:
        article = articles.get(fid)
        if article is not None and article.pk not in seen:
            seen.add(article.pk)
            out.append({"article_id": article.pk, "title": article.title})
    return out


def containers(items) -> list[str]:
    """The code interpreter containers a response's output used (each is billed per session)."""
    found = [getattr(i, "container_id", None) for i in items if getattr(i, "type", "") == "code_interpreter_call"]
    return list(dict.fromkeys(c for c in found if c))


def container_files(items) -> list[dict]:
    """Files the code interpreter wrote that the reply cites (container_file_citation), once each."""
    out, seen = [], set()
    for item in items:
        if getattr(item, "type", "") != "message":
            continue
        for part in getattr(item, "content", None) or []:
            for note in getattr(part, "annotations", None) or []:
                if getattr(note, "type", "") != "container_file_citation":
                    continue
                key = (getattr(note, "container_id", ""), getattr(note, "file_id", ""))
                if all(key) and key not in seen:
                    seen.add(key)
                    out.append({"container_id": key[0], "file_id": key[1], "filename": getattr(note, "filename", "")})
    return out
