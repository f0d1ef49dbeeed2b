"""Client input parsed in one place: ids, sequence numbers, cursors' parts, choices and JSON.

Every function here either answers a value or says the input is bad (None, or ValueError for
JSON, whose callers show the reason). None of them lets a client's string reach int(), the
database or the JSON decoder unchecked, which is how a view, selector or admin filter that reads
input through here answers 4xx or ignores the value instead of a 500:
- `str.isdigit()` accepts '²' and '٣', which `int()` refuses or reads as another number: only
  ASCII digits count here;
- the database holds 64-bit integers: a bigger number is no id (SQLite cannot even bind it);
- `json.loads` recurses once per nesting level: a body 3,000 levels deep raises RecursionError,
  so depth is counted before anything is decoded.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

MAX_BIGINT = 2**63 - 1
MIN_BIGINT = -(2**63)
_DIGITS = re.compile(r"-?[0-9]{1,19}")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
MAX_JSON_DEPTH = 32


def integer(value, *, minimum: int = 0, maximum: int = MAX_BIGINT) -> int | None:
    """`value` (a string of ASCII digits, or an int) as an int within [minimum, maximum], else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if minimum <= number <= maximum else None


def object_id(value) -> int | None:
    """A primary key: a positive 64-bit integer."""
    return integer(value, minimum=1)


def is_bigint(value) -> bool:
    """True for an int (not a bool) that a 64-bit integer column can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_BIGINT <= value <= MAX_BIGINT


def choice(value, allowed, default=None):
    """`value` if it is one of `allowed` (strings compared as they are), else `default`."""
    return value if isinstance(value, str) and value in allowed else default


def aware_datetime(value) -> datetime | None:
    """An ISO 8601 string with a time zone, as a datetime; anything else None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, counted without decoding it (brackets
    inside strings do not count). Linear in the length; never recurses."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_loads(raw: str | bytes, *, max_depth: int = MAX_JSON_DEPTH):
    """json.loads for client input: ValueError (with a reason people can read) for text that is
    not JSON, nests deeper than `max_depth`, or is not UTF-8; never RecursionError."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("Not UTF-8 text.") from exc
    if json_depth(raw) > max_depth:
        raise ValueError(f"Nested more than {max_depth} levels deep.")
    try:
        return json.loads(raw)
    except RecursionError as exc:  # unreachable after the depth check; kept as the last line of defence
        raise ValueError("Nested too deeply.") from exc


class IdConverter:
    """`<id:pk>` in URL patterns: a positive id of at most 18 digits (always a 64-bit integer),
    so a longer number is a 404 at the resolver rather than an overflow in the database."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """Text bound for one line of an email header or a file name (subjects, names, file names):
    line breaks and other control characters become spaces, runs of spaces one space. A CR/LF
    in a subject would otherwise make every email about that ticket fail (BadHeaderError)."""
    return " ".join(_CONTROL.sub(" ", text or "").split())
