"""A small multipart/form-data parser (enough for SDK file uploads)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


@dataclass
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _header_params(value: str, header: str = "content-disposition") -> Message:
    msg = Message()
    msg[header] = value
    return msg


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """Return the parts of a multipart/form-data body by field name (last one wins)."""
    ct = _header_params(content_type, "content-type")
    if ct.get_content_type() != "multipart/form-data":
        raise ValueError("expected multipart/form-data")
    boundary = ct.get_param("boundary", header="content-type")
    if not boundary:
        raise ValueError("multipart boundary missing")
    delimiter = b"--" + str(boundary).encode("latin-1")
    parts: dict[str, Part] = {}
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        raw_headers, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: dict[str, str] = {}
        for line in raw_headers.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key:
                headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = disposition.get_param("filename", header="content-disposition")
        parts[str(name)] = Part(
            name=str(name),
            data=data,
            filename=None if filename is None else str(filename),
            content_type=headers.get("content-type"),
        )
    return parts
