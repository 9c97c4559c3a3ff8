"""Who is calling: a short-lived signed assertion made by the gateway, verified by services.

The gateway authenticates the caller (TC3 signature, CAM decision) and forwards the result as
an Ed25519-signed JWT in `X-Caller-Assertion`. Services verify it with the gateway's public key
and never trust a bare header; without a valid assertion a service refuses the request, so a
direct call that bypasses the gateway gets nowhere.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Request

from kit.errors import AppError

HEADER = "x-caller-assertion"
ISSUER = "gateway"
AUDIENCE = "billing-services"
LIFETIME_SECONDS = 60
LEEWAY_SECONDS = 5

CallerKind = Literal["customer", "operator", "service"]


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request."""

    kind: CallerKind
    uin: str | None  # the account (owner uin); None for service callers
    sub_uin: str | None = None  # None: the account's root
    key_id: str | None = None  # the SecretId used, when one was
    request_id: str | None = None

    @property
    def is_root(self) -> bool:
        return self.kind == "customer" and self.sub_uin is None


class InvalidAssertion(AppError):
    status = 401
    code = "AuthFailure.InvalidAuthorization"


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64 of the raw 32-byte keys, for settings and env variables."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw,
                                        serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    return base64.b64encode(raw_private).decode(), base64.b64encode(raw_public).decode()


class AssertionSigner:
    def __init__(self, private_key_b64: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))

    def sign(self, caller: Caller, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER, "aud": AUDIENCE, "iat": issued, "exp": issued + LIFETIME_SECONDS,
            "kind": caller.kind, "uin": caller.uin, "sub_uin": caller.sub_uin,
            "kid": caller.key_id, "rid": caller.request_id,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")


class AssertionVerifier:
    def __init__(self, public_key_b64: str | None) -> None:
        self._key: Ed25519PublicKey | None = (
            Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
            if public_key_b64 else None)

    def verify(self, token: str | None) -> Caller:
        if self._key is None:
            raise InvalidAssertion("this service has no gateway key configured; refusing")
        if not token:
            raise InvalidAssertion("missing caller assertion; call through the gateway")
        try:
            claims = jwt.decode(token, self._key, algorithms=["EdDSA"], audience=AUDIENCE,
                                issuer=ISSUER, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise InvalidAssertion(f"invalid caller assertion: {exc}") from exc
        kind = claims.get("kind")
        if kind not in ("customer", "operator", "service"):
            raise InvalidAssertion("invalid caller assertion: unknown caller kind")
        uin = claims.get("uin")
        if kind == "customer" and not (isinstance(uin, str) and uin.isdigit()):
            raise InvalidAssertion("invalid caller assertion: customer without an account")
        return Caller(kind=kind, uin=uin, sub_uin=claims.get("sub_uin"),
                      key_id=claims.get("kid"), request_id=claims.get("rid"))


def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the verified caller, or 401 `AuthFailure.InvalidAuthorization`."""
    verifier: AssertionVerifier = request.app.state.assertion_verifier
    return verifier.verify(request.headers.get(HEADER))
