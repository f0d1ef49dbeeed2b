"""Stateful emulator of the OpenAI endpoints the help desk uses (Conversations, Responses, Files,
Vector Stores, response webhooks), with fault injection.

In-process::

    emu = Emulator()
    client = openai.OpenAI(api_key="test", base_url="http://emulator/v1",
                           http_client=httpx2.Client(transport=emu.transport()), max_retries=0)
    # or simply: client = emu.client()

Loopback (another thread)::

    server, base_url = serve_in_thread(emu)   # base_url = "http://127.0.0.1:<port>/v1"
    ...
    server.stop()

Separate process: ``python -m tests.emulator --port 8765 --latency 2 --seed 1 --faults 'rate_429=0.3'``,
configured through ``/_emulator/config``, ``/_emulator/fail_next``, ``/_emulator/reset``,
``/_emulator/tick`` and inspected with ``GET /_emulator/state``.
"""

from .errors import (
    ApiError,
    SimulatedConnectError,
    SimulatedDrop,
    SimulatedNetworkFault,
    SimulatedTimeout,
)
from .faults import FailRule, FaultInjector, parse_fault_spec
from .server import EmulatorHTTPServer, serve_in_thread
from .state import Emulator, paginate, validate_metadata
from .webhooks import build_event, new_webhook_secret, sign_webhook

__all__ = [
    "ApiError",
    "Emulator",
    "EmulatorHTTPServer",
    "FailRule",
    "FaultInjector",
    "SimulatedConnectError",
    "SimulatedDrop",
    "SimulatedNetworkFault",
    "SimulatedTimeout",
    "build_event",
    "new_webhook_secret",
    "paginate",
    "parse_fault_spec",
    "serve_in_thread",
    "sign_webhook",
    "validate_metadata",
]
