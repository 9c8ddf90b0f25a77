"""Fixed-window counters in Django's cache (use a shared cache in production)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.http import HttpRequest

from importops.conf import importops_settings
from importops.timestamps import epoch_ms


@dataclass(frozen=True)
class Window:
    count: int
    limit: int
    reset_at: float

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(epoch_ms(self.reset_at)),
        }


def _keys(name: str) -> tuple[str, str]:
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return f"importops:rl:{digest}:n", f"importops:rl:{digest}:reset"


def hit(name: str, *, limit: int, window: int) -> Window:
    """Count one event for ``name`` in its current window."""
    cache = caches[importops_settings.CACHE]
    count_key, reset_key = _keys(name)
    now = time.time()
    reset_at = cache.get(reset_key)
    if reset_at is None or reset_at <= now:
        reset_at = now + window
        cache.set_many({reset_key: reset_at, count_key: 0}, timeout=window)
    try:
        count = cache.incr(count_key)
    except ValueError:  # expired between the two calls
        cache.set(count_key, 1, timeout=window)
        count = 1
    return Window(count=count, limit=limit, reset_at=reset_at)


def peek(name: str, *, limit: int) -> Window:
    """The current window of ``name`` without counting."""
    cache = caches[importops_settings.CACHE]
    count_key, reset_key = _keys(name)
    values = cache.get_many([count_key, reset_key])
    reset_at = values.get(reset_key) or time.time()
    return Window(count=values.get(count_key, 0), limit=limit, reset_at=reset_at)


def reset(name: str) -> None:
    caches[importops_settings.CACHE].delete_many(list(_keys(name)))


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless TRUSTED_PROXY_HEADER names the header a trusted proxy sets."""
    header = importops_settings.TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            # The proxy appends the address it saw: the last entry is the one it vouches for.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
