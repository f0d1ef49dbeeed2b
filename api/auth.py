"""Bearer tokens, their scope, and the per-token rate limit."""

from __future__ import annotations

import time

from django.conf import settings
from ninja.security import HttpBearer

from api.errors import ApiError
from api.tokens import token_authenticate
from tickets import ratelimit

WINDOW = 60


def retry_after(window: int = WINDOW) -> int:
    """Seconds until the current fixed window of tickets.ratelimit ends."""
    return max(1, int(window - time.time() % window) + 1)


def limited(key: str, *, limit: int, window: int = WINDOW) -> None:
    if not ratelimit.hit(key, limit=limit, window=window):
        wait = retry_after(window)
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests; try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        found = token_authenticate(token.strip())
        if found is None:
            return None
        limited(f"api:{found.pk}", limit=settings.API_REQUESTS_PER_MINUTE)
        return found


def writer(request):
    """The token's user, if the token may write (else 403)."""
    if not request.auth.can_write:
        raise ApiError(403, "read_only_token", "This token has the read scope; writing needs a write token.")
    return request.auth.user
