"""In-process transport: an ``httpx2.MockTransport`` in front of :class:`Emulator.handle`."""

from __future__ import annotations

from typing import Any

import httpx2

from .errors import SimulatedConnectError, SimulatedDrop, SimulatedTimeout


def _query_dict(request: httpx2.Request) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in request.url.params.multi_items():
        if key in query:
            prior = query[key]
            query[key] = (prior if isinstance(prior, list) else [prior]) + [value]
        else:
            query[key] = value
    return query


def make_transport(emulator) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        try:
            status, headers, body = emulator.handle(
                request.method,
                request.url.path,
                _query_dict(request),
                {k.lower(): v for k, v in request.headers.items()},
                request.content,
            )
        except SimulatedTimeout:
            raise httpx2.ReadTimeout("emulated read timeout", request=request) from None
        except SimulatedDrop:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except SimulatedConnectError:
            raise httpx2.ConnectError("emulated connection refused", request=request) from None
        return httpx2.Response(status, headers=headers, content=body, request=request)

    return httpx2.MockTransport(handler)
