"""A small async TTL cache with single-flight loading, for keys and policies from iam-svc.

* One load per key at a time: concurrent misses wait for the same load (which runs as its own
  task, so a caller that goes away does not cancel it for the others).
* A failed load is not cached; every waiter gets the exception (callers fail closed).
* An invalidation that happens while a load is in flight wins: the loaded value is handed to
  the callers that were already waiting, but not stored, and later callers load afresh, so a
  value read before a change never outlives it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, load: Callable[[K], Awaitable[V]], *, ttl: float,
                 negative_ttl: float | None = None, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``negative_ttl`` applies to loads that return ``None`` (defaults to ``ttl``)."""
        self._load = load
        self.ttl = ttl
        self.negative_ttl = ttl if negative_ttl is None else negative_ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}
        self._epoch = 0
        self.loads = 0  # how many loads were started (tests and metrics)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: K) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                return entry[1]
            del self._entries[key]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fill(key, self._epoch))
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _fill(self, key: K, epoch: int) -> V:
        self.loads += 1
        me = asyncio.current_task()
        try:
            value = await self._load(key)
        finally:
            if self._loading.get(key) is me:
                del self._loading[key]
        if epoch == self._epoch:
            ttl = self.negative_ttl if value is None else self.ttl
            if ttl > 0:
                if len(self._entries) >= self.max_entries:
                    self._evict()
                self._entries[key] = (self._clock() + ttl, value)
        return value

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) >= self.max_entries:  # still full: drop the oldest
            del self._entries[next(iter(self._entries))]

    def invalidate(self, key: K) -> None:
        self._epoch += 1
        self._entries.pop(key, None)
        self._loading.pop(key, None)  # later callers load afresh instead of joining

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        self._epoch += 1
        for store in (self._entries, self._loading):
            for key in [k for k in store if predicate(k)]:
                del store[key]

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._loading.clear()
