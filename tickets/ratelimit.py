"""A fixed-window rate limit on the Django cache: N actions per key per window.

Fixed windows are coarse (a burst straddling a boundary may get up to 2N) but cost one cache
increment per request and need no cleanup: each window's key expires on its own.
"""

from __future__ import annotations

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
