"""Fault injection: global seeded rates plus one-shot ``fail_next`` rules.

A decision is a :class:`Fault` with a ``kind``:

* ``"status"``  - answer with ``status`` (+ ``headers``, ``body`` or a canned error body built from
  ``status``/``code``); the request is NOT applied.
* ``"timeout"`` - the client times out; the request is NOT applied.
* ``"drop"``    - the connection is closed without an answer; the request is NOT applied.
* ``"connect"`` - connection refused; the request is NOT applied.
* ``"lost"``    - processed-but-lost: the request IS applied, then the client gets ``lost_as``
  (``"500"``/any status string, ``"timeout"`` or ``"drop"``).
* ``"delay"``   - sleep ``delay`` seconds, then answer normally.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

RATE_KEYS = (
    "rate_429",
    "rate_500",
    "rate_401",
    "rate_403",
    "rate_quota",
    "rate_timeout",
    "rate_drop",
    "rate_lost",
    "rate_slow",
)

FAULT_OPTION_DEFAULTS: dict[str, Any] = {
    # headers sent with global 429s (None = header omitted)
    "retry_after": "1",
    "retry_after_ms": None,
    # how long the loopback server stalls on a "timeout" before closing the socket
    "timeout_sleep": 10.0,
    # extra seconds for a "slow" fault
    "slow_delay": 1.0,
    # what a processed-but-lost request turns into: "500" (or any status), "timeout", "drop", or
    # "mixed" (one of the three, drawn per request)
    "lost_mode": "500",
    # restrict global faults to one path prefix and/or to some methods (None = every /v1 call)
    "fault_path_prefix": None,
    "fault_methods": None,
}


@dataclass
class Fault:
    kind: str
    status: int = 500
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    lost_as: str = "500"
    sleep: float | None = None


@dataclass
class FailRule:
    path_prefix: str = "/v1"
    method: str | None = None
    kind: str = "status"
    status: int = 500
    code: str | None = None
    count: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    lost_as: str = "500"
    sleep: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FailRule:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if d.get("lost"):
            known["kind"] = "lost"
        if "kind" not in d and "lost" not in d and d.get("timeout"):
            known["kind"] = "timeout"
        rule = cls(**known)
        rule.headers = {str(k).lower(): str(v) for k, v in (rule.headers or {}).items()}
        if rule.method:
            rule.method = rule.method.upper()
        rule.status = int(rule.status)
        rule.count = int(rule.count)
        rule.lost_as = str(rule.lost_as)
        if rule.kind not in ("status", "timeout", "drop", "connect", "lost", "delay"):
            raise ValueError(f"unknown fault kind {rule.kind!r}")
        return rule

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method == method)

    def to_fault(self) -> Fault:
        return Fault(
            kind=self.kind,
            status=self.status,
            code=self.code,
            headers=dict(self.headers),
            body=self.body,
            delay=float(self.delay or 0.0),
            lost_as=self.lost_as,
            sleep=self.sleep,
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class FaultInjector:
    """Holds the rates, options, the seeded RNG and the queue of one-shot rules. Not locked itself:
    the emulator calls it under its own lock."""

    def __init__(self, seed: int | None = None) -> None:
        self.rates: dict[str, float] = {k: 0.0 for k in RATE_KEYS}
        self.options: dict[str, Any] = dict(FAULT_OPTION_DEFAULTS)
        self.rules: list[FailRule] = []
        self.seed = seed
        self.rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def configure(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in self.rates:
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be within 0..1")
                self.rates[key] = rate
            elif key in self.options:
                if key in ("timeout_sleep", "slow_delay") and value is not None:
                    value = float(value)
                if key in ("retry_after", "retry_after_ms") and value is not None:
                    value = str(value)
                if key == "lost_mode":
                    value = str(value)
                if key == "fault_methods" and value is not None:
                    if isinstance(value, str):
                        value = [value]
                    value = [m.upper() for m in value]
                self.options[key] = value
            elif key == "seed":
                self.reseed(None if value is None else int(value))
            else:
                raise ValueError(f"unknown fault option {key!r}")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")

    def add_rule(self, rule: FailRule) -> None:
        self.rules.append(rule)

    def decide(self, method: str, path: str) -> Fault | None:
        for rule in self.rules:
            if rule.matches(method, path):
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
                return rule.to_fault()
        if not any(self.rates.values()):
            return None
        prefix = self.options.get("fault_path_prefix")
        if prefix and not path.startswith(prefix):
            return None
        methods = self.options.get("fault_methods")
        if methods and method not in methods:
            return None
        draw = self.rng.random()
        acc = 0.0
        for key in RATE_KEYS:
            acc += self.rates[key]
            if draw < acc:
                return self._global_fault(key)
        return None

    def _global_fault(self, key: str) -> Fault:
        opts = self.options
        if key == "rate_429":
            headers = {}
            if opts.get("retry_after") is not None:
                headers["retry-after"] = str(opts["retry_after"])
            if opts.get("retry_after_ms") is not None:
                headers["retry-after-ms"] = str(opts["retry_after_ms"])
            return Fault("status", status=429, headers=headers)
        if key == "rate_500":
            return Fault("status", status=500)
        if key == "rate_401":
            return Fault("status", status=401, code="invalid_api_key")
        if key == "rate_403":
            return Fault("status", status=403)
        if key == "rate_quota":
            return Fault("status", status=429, code="insufficient_quota")
        if key == "rate_timeout":
            return Fault("timeout")
        if key == "rate_drop":
            return Fault("drop")
        if key == "rate_lost":
            mode = str(opts.get("lost_mode") or "500")
            if mode == "mixed":  # each lost answer shows up as a timeout, a 500 or a dropped connection
                mode = self.rng.choice(("timeout", "500", "drop"))
            return Fault("lost", lost_as=mode)
        if key == "rate_slow":
            return Fault("delay", delay=float(opts.get("slow_delay") or 0.0))
        raise AssertionError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.rates,
            **self.options,
            "seed": self.seed,
            "fail_next": [r.as_dict() for r in self.rules],
        }


def parse_fault_spec(spec: str) -> dict[str, Any]:
    """Parse ``'rate_429=0.3,rate_500=0.1,retry_after=200'`` into a dict (numbers become floats
    for rate_* keys, other values stay strings)."""
    out: dict[str, Any] = {}
    for chunk in (spec or "").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        key, value = key.strip(), value.strip()
        out[key] = float(value) if key.startswith("rate_") else value
    return out
