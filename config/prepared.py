"""Reads whose SQL is compiled once and run many times (the REST API's page reads).

Django compiles a queryset's SQL every time it is evaluated. For the API's page reads (a join, an
annotation, a cursor subquery) that compile was about 1 ms of CPU each, more than PostgreSQL needs
to answer them from an index. Their shape is fixed; only values change (a thread id, a cursor, a
user), so `rows()` compiles a shape once: `build` is called with stand-in values, their positions
among the SQL's parameters are noted, and every later call puts the real values there. Rows come
back through the compiler's own converters (JSON, dates on SQLite), as `.values()` gives them.

The queryset stays the source of the SQL (visibility rules, joins and columns are the models'),
so nothing here is hand-written SQL. Only ints and strings can be values (the ORM passes them to
the database unchanged); the shape's key must name everything else that changes the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

# Stand-ins: within a 32-bit integer column's range (the ORM turns an out-of-range lookup into
# "no rows" and leaves no parameter), and unlike any constant a query carries.
_INT_STAND_IN = 1_987_654_000
_STR_STAND_IN = "\x00stand-in:"


@dataclass(frozen=True)
class _Compiled:
    alias: str
    sql: str | None  # None: the shape never has rows (EmptyResultSet)
    params: tuple
    slots: tuple[tuple[str, tuple[int, ...]], ...]
    names: tuple[str, ...]
    converters: tuple


_compiled: dict[Hashable, _Compiled] = {}


def _stand_in(i: int, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return _INT_STAND_IN + i
    if isinstance(value, str):
        return f"{_STR_STAND_IN}{i}"
    raise TypeError(f"prepared reads take ints and strings, not {type(value).__name__}")


def _compile(build: Callable[..., QuerySet], values: dict) -> _Compiled:
    stand_ins = {name: _stand_in(i, value) for i, (name, value) in enumerate(sorted(values.items()))}
    qs = build(**stand_ins)
    query = qs.query
    names = tuple(query.selected) if query.selected else (*query.values_select, *query.annotation_select)
    if not names:
        raise ValueError("prepared reads are .values() querysets")
    compiler = query.get_compiler(qs.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _Compiled(qs.db, None, (), (), names, ())
    slots = []
    for name, stand_in in stand_ins.items():
        positions = tuple(i for i, p in enumerate(params) if p == stand_in and type(p) is type(stand_in))
        if not positions:
            raise ValueError(f"the value {name!r} does not reach the SQL unchanged")
        slots.append((name, positions))
    if any(isinstance(p, str) and _STR_STAND_IN in p and p not in stand_ins.values() for p in params):
        raise ValueError("a string value was changed on its way to the SQL (a LIKE pattern?)")
    fields = [s[0] for s in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(fields).items())
    return _Compiled(qs.db, sql, tuple(params), tuple(slots), names, converters)


def rows(key: Hashable, build: Callable[..., QuerySet], **values) -> list[dict]:
    """The rows of `build(**values)` (a `.values()` queryset) as dicts. Its SQL is compiled the first
    time for `key`, which must name the shape: two builds with one key differ only in `values`."""
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _compile(build, values)
    if compiled.sql is None:
        return []
    params = list(compiled.params)
    for name, positions in compiled.slots:
        for position in positions:
            params[position] = values[name]
    connection = connections[compiled.alias]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        fetched = cursor.fetchall()
    names = compiled.names
    if not compiled.converters:
        return [dict(zip(names, row, strict=True)) for row in fetched]
    out = []
    for row in fetched:
        row = list(row)
        for position, (functions, expression) in compiled.converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        out.append(dict(zip(names, row, strict=True)))
    return out
