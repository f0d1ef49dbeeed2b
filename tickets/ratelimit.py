"""A fixed-window rate limit on the Django cache: N actions per key per window.

Fixed windows are coarse (a burst straddling a boundary may get up to 2N) but cost one cache
increment per request and need no cleanup: each window's key expires on its own.
"""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache


def hit(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one action under `key`; False once more than `limit` happened in this window."""
    if limit <= 0:
        return True
    bucket = int(time.time() // window)
    cache_key = f"ratelimit:{key}:{bucket}"
    # add() is atomic and only sets a missing key; incr() is atomic on Redis and locmem.
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    return count <= limit


def customer_may_post(user) -> bool:
    """Opening tickets and replying share one budget per customer per minute."""
    return hit(f"posts:{user.pk}", limit=settings.HELPDESK_POSTS_PER_MINUTE)


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost of them saw (each proxy appends to X-Forwarded-For, so the entry that
    many places from the right; anything to its left was written by the client)."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "0.0.0.0"  # not an address: all such requests share one budget


def login_username(request, credentials) -> str:
    """The account a login attempt names, as django-axes counts it: one spelling per account
    (usernames are emails here, compared case-insensitively) and no longer than its column."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).strip().lower()[:150]


def address_may(request, action: str, *, limit: int, window: int = 3600) -> bool:
    """One `action` (password reset, sign-up) from the request's client address."""
    return hit(f"{action}:{client_address(request)}", limit=limit, window=window)
