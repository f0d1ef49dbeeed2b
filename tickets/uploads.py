"""Does an upload's content match its type? The first bytes of each accepted binary type are
fixed by its format; text must be text, and not markup a browser would run.

Eight accepted types need eight short signatures, so this is a table rather than a dependency
(libmagic or a pure-Python port would know thousands of types to tell us the same about ours).
"""

from __future__ import annotations

HEAD_BYTES = 2048

# extension -> (declared content types that fit it, signatures one of which the content starts with)
TYPES: dict[str, tuple[frozenset[str], tuple[bytes, ...]]] = {
    ".png": (frozenset({"image/png"}), (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": (frozenset({"image/jpeg"}), (b"\xff\xd8\xff",)),
    ".jpeg": (frozenset({"image/jpeg"}), (b"\xff\xd8\xff",)),
    ".gif": (frozenset({"image/gif"}), (b"GIF87a", b"GIF89a")),
    ".webp": (frozenset({"image/webp"}), (b"RIFF",)),  # and "WEBP" at offset 8, checked below
    ".pdf": (frozenset({"application/pdf"}), (b"%PDF",)),
    ".zip": (frozenset({"application/zip", "application/x-zip-compressed"}), (b"PK\x03\x04", b"PK\x05\x06")),
    ".txt": (frozenset({"text/plain"}), ()),
    ".log": (frozenset({"text/plain"}), ()),
    ".csv": (frozenset({"text/csv", "text/plain", "application/vnd.ms-excel"}), ()),
}
# Browsers accept these as a type of their own, whatever the name says.
GENERIC_TYPES = {"", "application/octet-stream"}
MARKUP = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<body", b"<head", b"<iframe")


def head(upload) -> bytes:
    """The first bytes of an uploaded file, leaving it where it was."""
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    data = upload.read(HEAD_BYTES)
    upload.seek(position)
    return data


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return not start.startswith(MARKUP)


def problem(upload, ext: str) -> str | None:
    """Why the upload is not what its name says, or None when it is."""
    if ext not in TYPES:
        return "we accept images, PDF, text, CSV or ZIP"
    types, signatures = TYPES[ext]
    declared = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared not in types:
        return f"named {ext} but sent as {declared}"
    data = head(upload)
    if signatures:
        fits = data.startswith(signatures) and (ext != ".webp" or data[8:12] == b"WEBP")
    else:
        fits = _is_text(data)
    if not fits:
        return f"its content is not a {ext} file"
    return None
