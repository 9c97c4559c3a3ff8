"""Identity assertions for the services (kit.identity), signed per caller and reused briefly.

Signing an Ed25519 JWT costs about as much as the rest of the gateway's own work on a request,
so one assertion per caller (kind, account, sub-user, key) is reused for ``reuse_seconds`` of
its 60 s lifetime; it then still has the rest of its lifetime to reach the service. A reused
assertion carries no request id (the X-Request-Id header does). With ``reuse_seconds=0``
every request gets its own assertion, request id included.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kit.identity import AssertionSigner, Caller

from gateway.iam_client import AccessKey

MAX_CACHED = 100_000


class Assertions:
    def __init__(self, signer: AssertionSigner, *, reuse_seconds: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.reuse_seconds = reuse_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str, str | None, str], tuple[float, bytes]] = {}

    def for_key(self, key: AccessKey, request_id: str) -> bytes:
        """The assertion header value for a request authenticated with ``key``."""
        if self.reuse_seconds <= 0:
            return self.signer.sign(Caller(kind=key.principal_kind, uin=key.owner_uin,
                                           sub_uin=key.sub_uin, key_id=key.secret_id,
                                           request_id=request_id)).encode()
        now = self._clock()
        cache_key = (key.principal_kind, key.owner_uin, key.sub_uin, key.secret_id)
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        token = self.signer.sign(Caller(kind=key.principal_kind, uin=key.owner_uin,
                                        sub_uin=key.sub_uin, key_id=key.secret_id),
                                 now=now).encode()
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[cache_key] = (now + self.reuse_seconds, token)
        return token
