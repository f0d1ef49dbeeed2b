"""``python -m tests.emulator --port P [--latency 2.0] [--seed N] [--faults 'rate_429=0.3,...']``

Prints ``EMULATOR READY http://HOST:PORT/v1`` on stdout once it listens (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse
import json
import sys

from .faults import parse_fault_spec
from .server import run_forever
from .state import Emulator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before a background response may complete")
    parser.add_argument("--request-delay", type=float, default=0.0, help="seconds added to every /v1 request")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault RNG")
    parser.add_argument(
        "--faults",
        default="",
        help="comma list, e.g. 'rate_429=0.3,rate_500=0.1,rate_timeout=0.05,rate_lost=0.05,"
        "retry_after=2,timeout_sleep=30,lost_mode=timeout'",
    )
    parser.add_argument(
        "--auto-complete", action="store_true", help="complete background responses by time alone (no polling needed)"
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--api-key", default=None, help="require this bearer token (else 401)")
    parser.add_argument("--rules", default=None, help="JSON file with a list of scripted reply rules")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    rules = None
    if args.rules:
        with open(args.rules, encoding="utf-8") as fh:
            rules = json.load(fh)
    emulator = Emulator(
        latency=args.latency,
        request_delay=args.request_delay,
        seed=args.seed,
        faults=parse_fault_spec(args.faults),
        auto_complete=args.auto_complete,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        api_key=args.api_key,
        rules=rules,
    )
    run_forever(emulator, args.port, host=args.host, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
