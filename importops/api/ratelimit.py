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


def _window_key(name: str) -> str:
    return f"importops:rl:{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def _count_key(window_key: str, reset_at: float) -> str:
    # Each window has its own counter, so starting a window never zeroes a count that
    # another process is incrementing.
    return f"{window_key}:{reset_at!r}"


def hit(name: str, *, limit: int, window: int) -> Window:
    """Count one event for ``name`` in its current window.

    Atomic with any number of processes sharing the cache: ``add`` (set if absent) lets the
    first event start the window, ``incr`` counts; no read-modify-write.
    """
    cache = caches[importops_settings.CACHE]
    window_key = _window_key(name)
    reset_at = None
    for _ in range(2):  # a second try when the window expired between the two calls
        cache.add(window_key, time.time() + window, timeout=window)
        reset_at = cache.get(window_key)
        if reset_at is not None:
            break
    if reset_at is None:  # a cache that keeps nothing (DummyCache): every event is the first
        return Window(count=1, limit=limit, reset_at=time.time() + window)
    count_key = _count_key(window_key, reset_at)
    cache.add(count_key, 0, timeout=window + 1)
    try:
        count = cache.incr(count_key)
    except ValueError:  # the window ended between the two calls: the first of the next one
        count = 1
    return Window(count=count, limit=limit, reset_at=reset_at)


def peek(name: str, *, limit: int) -> Window:
    """The current window of ``name`` without counting."""
    cache = caches[importops_settings.CACHE]
    reset_at = cache.get(_window_key(name))
    if reset_at is None:
        return Window(count=0, limit=limit, reset_at=time.time())
    return Window(count=cache.get(_count_key(_window_key(name), reset_at), 0), limit=limit, reset_at=reset_at)


def reset(name: str) -> None:
    caches[importops_settings.CACHE].delete(_window_key(name))


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless TRUSTED_PROXY_HEADER names the header a trusted proxy sets."""
    header = importops_settings.TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            # The proxy appends the address it saw: the last entry is the one it vouches for.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
