"""The fixed-window counters: add + incr, one counter per window."""

from __future__ import annotations

import threading

from django.test import override_settings

from importops.api import ratelimit


def test_events_count_up_and_a_new_window_starts_from_one():
    assert [ratelimit.hit("k", limit=2, window=60).count for _ in range(3)] == [1, 2, 3]
    assert ratelimit.peek("k", limit=2).exceeded
    ratelimit.reset("k")
    assert ratelimit.peek("k", limit=2).count == 0
    assert ratelimit.hit("k", limit=2, window=60).count == 1


def test_concurrent_events_are_all_counted():
    def hits() -> None:
        for _ in range(50):
            ratelimit.hit("busy", limit=1000, window=60)

    threads = [threading.Thread(target=hits) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ratelimit.peek("busy", limit=1000).count == 400


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}})
def test_a_cache_that_keeps_nothing_counts_every_event_as_the_first():
    assert ratelimit.hit("k", limit=1, window=60).count == 1
    assert ratelimit.hit("k", limit=1, window=60).count == 1
