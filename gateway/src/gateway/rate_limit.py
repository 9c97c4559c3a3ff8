"""Per-SecretId token buckets, in memory (per gateway replica).

A refused request answers ``RequestLimitExceeded``, which the SDK's ``StandardRetryer`` retries
with backoff. Memory stays bounded: when there are too many buckets, full (idle) ones go.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    __slots__ = ("_buckets", "_clock", "burst", "max_keys", "rate")

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill]

    def allow(self, key: str) -> bool:
        """Take one token from ``key``'s bucket; ``False`` when it is empty."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            self._buckets[key] = [self.burst - 1.0, now]
            return True
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:  # every bucket busy: drop the oldest
            del self._buckets[next(iter(self._buckets))]
