"""The tool registry. Apps register tools in AppConfig.ready(); the run engine executes them.

A tool receives the run (and so its thread) as its only scope: its JSON schema names no ticket,
customer or user, and arguments outside the schema are refused, so a model cannot reach
another ticket.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments ("type": "object")
    func: Callable[..., Any]

    def spec(self) -> dict:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": True,
        }


_registry: dict[str, Tool] = {}


def register(name: str, description: str, properties: dict, required: list[str] | None = None):
    """Decorator: register func(run, **arguments) -> JSON-serialisable result."""

    def decorator(func):
        _registry[name] = Tool(
            name=name,
            description=description,
            parameters={
                "type": "object",
                "properties": properties,
                "required": required if required is not None else list(properties),
                "additionalProperties": False,
            },
            func=func,
        )
        return func

    return decorator


def get(name: str) -> Tool | None:
    return _registry.get(name)


def specs() -> list[dict]:
    return [tool.spec() for tool in _registry.values()]


class ToolArgumentError(ValueError):
    pass


def _check_arguments(tool: Tool, arguments: dict) -> dict:
    if not isinstance(arguments, dict):
        raise ToolArgumentError("arguments must be an object")
    allowed = tool.parameters["properties"]
    unknown = set(arguments) - set(allowed)
    if unknown:
        raise ToolArgumentError(f"unknown arguments: {', '.join(sorted(unknown))}")
    missing = [k for k in tool.parameters["required"] if k not in arguments]
    if missing:
        raise ToolArgumentError(f"missing arguments: {', '.join(missing)}")
    for key, value in arguments.items():
        expected = allowed[key].get("type")
        if expected == "string" and not isinstance(value, str):
            raise ToolArgumentError(f"{key} must be a string")
    return arguments


def execute(run, name: str, arguments: dict) -> str:
    """Run one tool call for this run and return its output as a JSON string (errors included)."""
    tool = get(name)
    if tool is None:
        return json.dumps({"error": f"unknown tool {name!r}"})
    try:
        result = tool.func(run, **_check_arguments(tool, arguments))
    except ToolArgumentError as exc:
        return json.dumps({"error": str(exc)})
    except Exception:  # a failing tool must not kill the run: the model gets an error output
        logger.exception("tool %s failed on run %s", name, run.pk)
        return json.dumps({"error": f"the tool {name} failed"})
    return json.dumps(result, default=str)
