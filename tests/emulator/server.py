"""Loopback HTTP server (stdlib ``ThreadingHTTPServer``) in front of :class:`Emulator.handle`."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import SimulatedConnectError, SimulatedDrop, SimulatedTimeout


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpenAIEmulator/1.0"
    # Small answers leave at once: with Nagle's algorithm on, a response written after its headers
    # waits for the client's delayed ACK (about 40 ms on Linux), which a real API does not add.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in query:
                prior = query[key]
                query[key] = (prior if isinstance(prior, list) else [prior]) + [value]
            else:
                query[key] = value
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, out_headers, out = self.server.emulator.handle(self.command, parts.path, query, headers, body)
        except SimulatedTimeout as fault:
            # stall longer than the client's timeout, then hang up without an answer
            self.server.stopping.wait(fault.sleep)
            self._drop()
            return
        except (SimulatedDrop, SimulatedConnectError):
            self._drop()
            return
        self.send_response(status)
        for key, value in out_headers.items():
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class EmulatorHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` bound to an :class:`Emulator`. Use :meth:`stop` to shut it down."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.verbose = verbose
        self.stopping = threading.Event()
        self._own_threads: list = []

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def root_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorHTTPServer:
        serve = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="openai-emulator"
        )
        ticker = threading.Thread(target=self._tick_loop, daemon=True, name="openai-emulator-ticker")
        self._own_threads = [serve, ticker]
        serve.start()
        ticker.start()
        return self

    def _tick_loop(self) -> None:
        # advances background responses by time when auto_complete is on (webhook-driven flows)
        while not self.stopping.wait(0.05):
            if self.emulator.auto_complete:
                try:
                    self.emulator.tick()
                except Exception:
                    logging.getLogger(__name__).exception("emulator tick failed")

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        for thread in self._own_threads:
            thread.join(2)


def serve_in_thread(
    emulator, port: int = 0, host: str = "127.0.0.1", verbose: bool = False
) -> tuple[EmulatorHTTPServer, str]:
    """Start a loopback server for ``emulator``; returns ``(server, base_url)`` where base_url ends in
    ``/v1``. Call ``server.stop()`` when done."""
    server = EmulatorHTTPServer((host, port), emulator, verbose=verbose).start()
    return server, server.base_url


def run_forever(
    emulator, port: int, host: str = "127.0.0.1", verbose: bool = False, ready_message: str | None = None
) -> None:
    server = EmulatorHTTPServer((host, port), emulator, verbose=verbose)
    ticker = threading.Thread(target=server._tick_loop, daemon=True)
    ticker.start()
    print(ready_message or f"EMULATOR READY {server.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
