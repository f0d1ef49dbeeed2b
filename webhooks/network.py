"""Where webhook deliveries reach the network: the address check and the POST, in one place.

A name is resolved once per send, every address it gives is checked, and the connection is made
to a checked address (the socket address getaddrinfo gave), never by resolving the name again: a
name that answers a public address to the check and 127.0.0.1 to the connect (DNS rebinding) cannot
reach inside. The request still names the host (the Host header, and for https the TLS server name
and the certificate check), so virtual hosts and certificates work as with a plain client.

Only http(s); with WEBHOOK_ALLOW_PRIVATE off (production), no loopback, private, link-local,
multicast or reserved address. Redirects are not followed (a 3xx is an answer, and a failure).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple  # (family, type, proto, sockaddr) as getaddrinfo gave them, each one checked


def _is_public(sockaddr) -> bool:
    address = ipaddress.ip_address(sockaddr[0].split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(url: str) -> Target:
    """The URL's host resolved once, every address checked (ValidationError, field `url`)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// address."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValidationError({"url": f"The host {parts.hostname} does not resolve."}) from exc
    addresses = tuple((family, kind, proto, sockaddr) for family, kind, proto, _name, sockaddr in infos)
    if not addresses:
        raise ValidationError({"url": f"The host {parts.hostname} does not resolve."})
    if not settings.WEBHOOK_ALLOW_PRIVATE and not all(_is_public(a[3]) for a in addresses):
        raise ValidationError({"url": "The address is on a private, loopback or reserved network."})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)


def check_url(url: str) -> None:
    """ValidationError (field `url`) for an address we will not send to (where it is registered)."""
    resolve(url)


def _connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to the first checked address that answers."""
    error: OSError | None = None
    for family, kind, proto, sockaddr in target.addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"cannot connect to {target.host}")


class _Pinned(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address, speaking to the host by name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self):
        sock = _connect(self.target, self.timeout)
        if self.target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.target.host)
        self.sock = sock


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status code. ValidationError for an address we will not send to,
    OSError for a network failure (a timeout, a refused connection, a bad certificate)."""
    target = resolve(url)
    connection = _Pinned(target, timeout=settings.WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        return connection.getresponse().status
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
