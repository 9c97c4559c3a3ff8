"""Gateway errors and how each style renders them.

One code vocabulary for both styles: the API 3.0 facade answers HTTP 200 with
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` and Content-Type exactly
``application/json`` (the SDK ignores errors under any other status or content type); REST
answers RFC 9457 problem+json with the same ``code`` and an HTTP status chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit import jsonutil
from kit.errors import PROBLEM_JSON

Headers = list[tuple[bytes, bytes]]

JSON = b"application/json"

# Most specific first: the first prefix that matches a code gives the REST status.
_STATUS_BY_PREFIX: tuple[tuple[str, int], ...] = (
    ("AuthFailure.UnauthorizedOperation", 403),
    ("AuthFailure", 401),
    ("UnauthorizedOperation", 403),
    ("OperationDenied", 403),
    ("RequestLimitExceeded", 429),
    ("RequestSizeLimitExceeded", 413),
    ("RequestTimeout", 408),
    ("InvalidAction", 404),
    ("NoSuchVersion", 400),
    ("ResourceNotFound", 404),
    ("UnsupportedOperation", 405),
    ("ResourceUnavailable", 503),
    ("InternalError", 500),
    ("FailedOperation", 409),
    ("ResourceInUse", 409),
)


def rest_status(code: str) -> int:
    """The HTTP status a REST answer with this error code gets (400 when nothing matches)."""
    for prefix, status in _STATUS_BY_PREFIX:
        if code == prefix or code.startswith(prefix + "."):
            return status
    return 400


class GatewayError(Exception):
    """A refusal by the gateway itself, before or instead of the upstream answer."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status  # REST status when the code alone does not say it


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete HTTP answer, ready to send."""

    status: int
    headers: Headers
    body: bytes


def api3_envelope(response: dict[str, object], request_id: str) -> Answer:
    response["RequestId"] = request_id
    return Answer(200, [(b"content-type", JSON)], jsonutil.dumps({"Response": response}))


def api3_error(code: str, message: str, request_id: str) -> Answer:
    return api3_envelope({"Error": {"Code": code, "Message": message}}, request_id)


def rest_error(code: str, message: str, request_id: str, status: int | None = None) -> Answer:
    status = status or rest_status(code)
    body = {"type": "about:blank", "title": code, "status": status, "code": code,
            "detail": message, "requestId": request_id}
    return Answer(status, [(b"content-type", PROBLEM_JSON.encode())], jsonutil.dumps(body))
