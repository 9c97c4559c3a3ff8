"""Authentication: TC3-HMAC-SHA256 over the request exactly as received, for both styles.

The SecretKey comes from iam-svc through a cache (:class:`gateway.cache.TtlCache`) that
``iam.key.changed`` events invalidate. The checks run cheapest first, so an expired or
malformed request never costs a key lookup.
"""

from __future__ import annotations

from collections.abc import Mapping

from kit import tc3

from gateway.cache import TtlCache
from gateway.errors import GatewayError
from gateway.iam_client import AccessKey, IamUnavailable


class Authenticator:
    def __init__(self, keys: TtlCache[str, AccessKey | None], *, window: int = 300) -> None:
        self.keys = keys
        self.window = window

    async def authenticate(self, method: str, raw_path: str, raw_query: str,
                           headers: Mapping[str, str], body: bytes,
                           now: int) -> tuple[AccessKey, tc3.ParsedAuthorization]:
        """The verified key and the parsed Authorization; ``GatewayError`` otherwise.

        ``headers`` has lower-case names and the values as received.
        """
        try:
            parsed = tc3.parse_authorization(headers.get("authorization"))
            timestamp = tc3.parse_timestamp(headers.get("x-tc-timestamp"))
        except tc3.Tc3Error as exc:
            raise GatewayError(exc.code, exc.message) from None
        if abs(now - timestamp) > self.window:  # before any lookup; tc3.verify checks it too
            raise GatewayError(tc3.SIGNATURE_EXPIRE, f"The signature expired: X-TC-Timestamp "
                               f"{timestamp} is more than {self.window} s from server time.")
        if "x-tc-token" in headers:
            raise GatewayError("AuthFailure.TokenFailure",
                               "Temporary credentials (X-TC-Token) are not supported here.")
        try:
            key = await self.keys.get(parsed.secret_id)
        except IamUnavailable as exc:
            raise GatewayError("ResourceUnavailable",
                               "The credential service is unavailable; try again.") from exc
        if key is None or not key.enabled:
            raise GatewayError("AuthFailure.SecretIdNotFound",
                               "The SecretId does not exist or is disabled.")
        try:
            tc3.verify(parsed, key.secret_key, method, raw_path, raw_query, headers, body,
                       timestamp, now, self.window)
        except tc3.Tc3Error as exc:
            raise GatewayError(exc.code, exc.message) from None
        return key, parsed
