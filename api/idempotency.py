"""Idempotency-Key on every POST: a retried request answers the first answer and does nothing twice.

The key's row is inserted *before* the work, in the same transaction as the work and its stored
answer. A second request with the same key (sent at the same moment, on another connection) blocks
on the unique index (token, key) until the first commits, then reads its answer: never a
check-then-act. A key whose request failed (an error was raised) is rolled back with the work, so a
retry does the work. Keys older than API_IDEMPOTENCY_HOURS are forgotten.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from api.errors import ApiError
from api.models import IdempotencyKey

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def fingerprint(request) -> str:
    """What identifies the request: method, path and body (multipart: its fields and file digests,
    since the boundary differs on every send)."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(f"{name}={value}\n".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                content = hashlib.sha256()
                for chunk in upload.chunks():
                    content.update(chunk)
                upload.seek(0)
                digest.update(f"{name}:{upload.name}:{upload.size}:{content.hexdigest()}\n".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def expired_before():
    return timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def purge_expired() -> int:
    return IdempotencyKey.objects.filter(created_at__lt=expired_before()).delete()[0]


def _claim(token, key: str, print_: str) -> IdempotencyKey | None:
    """Insert the key (None: it was ours to insert), or the earlier request's row."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(token=token, key=key, fingerprint=print_)
        return None
    except IntegrityError:
        pass
    earlier = IdempotencyKey.objects.get(token=token, key=key)
    if earlier.created_at < expired_before():
        earlier.delete()
        return _claim(token, key, print_)
    return earlier


def answer(status: int, body: dict) -> JsonResponse:
    """The JSON answer as it is: the shapes (api/shapes.py) are the schema's objects already, which
    the schemathesis test checks, so ninja's second validation of every object is skipped."""
    return JsonResponse(body, status=status)


def idempotent(view):
    """Decorate a POST view that returns (status, body). With the header, the first answer is
    stored with the work and given again to every retry with the same body."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return answer(*view(request, *args, **kwargs))
        if not _KEY.fullmatch(key):
            raise ApiError(400, "invalid", f"{HEADER} is 1 to 255 visible ASCII characters.", field=HEADER)
        print_ = fingerprint(request)
        with transaction.atomic():
            earlier = _claim(request.auth, key, print_)
            if earlier is not None:
                if earlier.fingerprint != print_:
                    raise ApiError(
                        422,
                        "idempotency_key_reused",
                        f"This {HEADER} was used for a different request.",
                        field=HEADER,
                    )
                if earlier.status_code is None:  # unreachable on PostgreSQL (the insert waits); kept safe
                    raise ApiError(409, "idempotency_key_in_use", "The first request with this key is still running.")
                return answer(earlier.status_code, earlier.response)
            status, body = view(request, *args, **kwargs)
            IdempotencyKey.objects.filter(token=request.auth, key=key).update(status_code=status, response=body)
            return answer(status, body)

    return wrapper
