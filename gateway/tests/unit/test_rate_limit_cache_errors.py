"""Token buckets, the single-flight TTL cache, and error rendering in both styles."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from gateway.cache import TtlCache
from gateway.errors import api3_error, rest_error, rest_status
from gateway.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- rate limiter


def test_bucket_allows_burst_then_refills_at_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back
    assert limiter.allow("a") is True
    assert limiter.allow("a") is False
    clock.now += 100  # never more than the burst
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]


def test_buckets_are_per_key():
    limiter = RateLimiter(rate=1, burst=1, clock=Clock())
    assert limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")


def test_bucket_memory_is_bounded_and_busy_buckets_survive_pruning():
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=2, max_keys=3, clock=clock)
    limiter.allow("busy")
    limiter.allow("busy")  # empty now
    limiter.allow("idle1")
    clock.now += 10  # idle1 is full again; busy too after 10 s, so make it busy again
    limiter.allow("busy")
    limiter.allow("busy")
    limiter.allow("idle2")
    limiter.allow("new")  # over the limit: full buckets (idle1) go, busy stays
    assert "busy" in limiter._buckets and "idle1" not in limiter._buckets
    assert limiter.allow("busy") is False
    assert len(limiter._buckets) <= 3


def test_limiter_rejects_nonsense_configuration():
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)
    with pytest.raises(ValueError):
        RateLimiter(rate=1, burst=0)


# --------------------------------------------------------------------------- TTL cache


async def test_cache_loads_once_for_concurrent_misses_and_expires():
    clock = Clock()
    calls: list[str] = []
    gate = asyncio.Event()

    async def load(key: str) -> str:
        calls.append(key)
        await gate.wait()
        return key.upper()

    cache: TtlCache[str, str] = TtlCache(load, ttl=10, clock=clock)
    waiters = [asyncio.create_task(cache.get("a")) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiters) == ["A"] * 5
    assert calls == ["a"]
    assert await cache.get("a") == "A" and calls == ["a"]
    clock.now += 11
    assert await cache.get("a") == "A" and calls == ["a", "a"]


async def test_cache_negative_ttl_and_failures_are_not_cached():
    clock = Clock()
    results: list[object] = [None, RuntimeError("down"), "x"]

    async def load(key: str) -> str | None:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[return-value]

    cache: TtlCache[str, str | None] = TtlCache(load, ttl=60, negative_ttl=1, clock=clock)
    assert await cache.get("k") is None
    assert await cache.get("k") is None  # cached for the negative TTL
    clock.now += 2
    with pytest.raises(RuntimeError):
        await cache.get("k")
    assert await cache.get("k") == "x"  # the failure was not cached


async def test_invalidation_during_a_load_is_not_overwritten_by_the_old_value():
    versions = iter(["old", "new"])
    gate = asyncio.Event()

    async def load(key: str) -> str:
        value = next(versions)
        if value == "old":
            await gate.wait()
        return value

    cache: TtlCache[str, str] = TtlCache(load, ttl=60)
    first = asyncio.create_task(cache.get("k"))
    await asyncio.sleep(0)
    cache.invalidate("k")  # the change lands while "old" is being read
    assert await cache.get("k") == "new"  # a later caller does not join the stale load
    gate.set()
    assert await first == "old"  # the caller that asked before the change gets its answer
    assert await cache.get("k") == "new"  # but "old" was never stored


async def test_invalidate_where_drops_matching_entries_only():
    async def load(key: tuple[str, str]) -> str:
        return "-".join(key)

    cache: TtlCache[tuple[str, str], str] = TtlCache(load, ttl=60)
    for key in [("1", "a"), ("1", "b"), ("2", "a")]:
        await cache.get(key)
    cache.invalidate_where(lambda key: key[0] == "1")
    assert len(cache) == 1
    loads = cache.loads
    await cache.get(("2", "a"))
    assert cache.loads == loads


async def test_cache_is_bounded():
    async def load(key: int) -> int:
        return key

    cache: TtlCache[int, int] = TtlCache(load, ttl=60, max_entries=10)
    for i in range(50):
        await cache.get(i)
    assert len(cache) <= 10


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("code,status", [
    ("AuthFailure.SignatureFailure", 401), ("AuthFailure.SecretIdNotFound", 401),
    ("AuthFailure.UnauthorizedOperation", 403), ("UnauthorizedOperation", 403),
    ("RequestLimitExceeded", 429), ("RequestSizeLimitExceeded", 413),
    ("InvalidAction", 404), ("NoSuchVersion", 400), ("MissingParameter", 400),
    ("InvalidParameterValue.Limit", 400), ("ResourceNotFound.User", 404),
    ("ResourceUnavailable", 503), ("InternalError", 500), ("FailedOperation.X", 409),
    ("AuthFailureX", 400),
])
def test_rest_status_by_code(code: str, status: int):
    assert rest_status(code) == status


def test_api3_error_envelope_is_http_200_plain_json():
    answer = api3_error("AuthFailure.SignatureFailure", "bad", "rid-1")
    assert answer.status == 200
    assert answer.headers == [(b"content-type", b"application/json")]
    assert orjson.loads(answer.body) == {"Response": {
        "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"},
        "RequestId": "rid-1"}}


def test_rest_error_is_problem_json_with_the_same_code():
    answer = rest_error("RequestLimitExceeded", "slow down", "rid-2")
    assert answer.status == 429
    assert answer.headers == [(b"content-type", b"application/problem+json")]
    body = orjson.loads(answer.body)
    assert body["code"] == "RequestLimitExceeded" and body["requestId"] == "rid-2"
    assert rest_error("InternalError", "slow", "r", status=504).status == 504
