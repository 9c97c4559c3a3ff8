"""What every service's idempotent operations share (`Idempotency-Key` header or
`client_token` body field): the key choice, the request fingerprint, the replayed answer and
the errors. Each service stores keys in its own database and runs the operation in its own
unit of work (iam-svc seals stored answers, since some carry a SecretKey)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kit.errors import AppError, FailedOperation, InvalidParameterValue
from kit.http import JsonResponse

#: How long a key is remembered.
RETENTION = timedelta(hours=24)


class IdempotencyKeyReused(AppError):
    status = 409
    code = "InvalidParameter.IdempotencyKeyReused"


class ConcurrentModification(FailedOperation):
    """Another transaction changed the same rows first; retrying is safe."""

    code = "FailedOperation.ConcurrentModification"


@dataclass(frozen=True)
class Outcome:
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(operation: str, payload: dict[str, Any]) -> str:
    """What makes two requests "the same": the operation and the validated body."""
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def choose_key(header: str | None, client_token: str | None) -> str | None:
    if header is not None and client_token is not None and header != client_token:
        raise InvalidParameterValue(
            "Idempotency-Key and client_token differ; send one of them",
            code="InvalidParameterValue.IdempotencyKey", details={"field": "client_token"})
    return header if header is not None else client_token


def respond(outcome: Outcome) -> JsonResponse:
    """The answer; a replay says so in `Idempotent-Replayed: true`."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JsonResponse(outcome.body, headers=headers)
