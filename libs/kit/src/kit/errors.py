"""One error vocabulary (Tencent-style codes) and its REST rendering as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kit import jsonutil
from kit.logging import current_request_id

log = logging.getLogger("kit.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """A failure the caller can act on. `code` is stable; `message` is for humans."""

    status: int = 400
    code: str = "FailedOperation"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class InvalidParameter(AppError):
    code = "InvalidParameter"


class InvalidParameterValue(AppError):
    code = "InvalidParameterValue"


class MissingParameter(AppError):
    code = "MissingParameter"


class ResourceNotFound(AppError):
    status = 404
    code = "ResourceNotFound"


class FailedOperation(AppError):
    status = 409
    code = "FailedOperation"


class Unauthorized(AppError):
    status = 401
    code = "AuthFailure"


class Forbidden(AppError):
    status = 403
    code = "UnauthorizedOperation"


class ResourceUnavailable(AppError):
    status = 503
    code = "ResourceUnavailable"


def problem(status: int, code: str, message: str, /, **extra: Any) -> Response:
    """An RFC 9457 problem document. `extra` members join the top level, except one whose
    name a standard member already has (an error's `details={"status": ...}`), which goes
    under `details` instead of overwriting it."""
    body: dict[str, Any] = {"type": "about:blank", "title": code, "status": status,
                            "code": code, "detail": message, "requestId": current_request_id()}
    for key, value in extra.items():
        if key in body:
            body.setdefault("details", {})[key] = value
        else:
            body[key] = value
    return Response(jsonutil.dumps(body), status_code=status, media_type=PROBLEM_JSON)


def _validation_code(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """The first validation error as (code, message), named after the offending field."""
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "InvalidParameter", "the request body is not valid JSON"
    loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    if kind == "missing":
        if not loc:
            return "MissingParameter", "the request body is missing"
        return "MissingParameter", f"missing parameter: {loc}"
    if kind == "extra_forbidden":
        return "UnknownParameter", f"unknown parameter: {loc}"
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return "InvalidParameter", "the request body must be a JSON object"
    msg = first.get("msg", "invalid value")
    return "InvalidParameterValue", f"{loc}: {msg}" if loc else msg


_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"
"""FastAPI's detail when ``json.loads`` fails with something other than a decode error."""


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> Response:
        return problem(exc.status, exc.code, exc.message, **dict(exc.details))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        code, message = _validation_code(list(exc.errors()))
        return problem(400, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {400: "InvalidParameter", 404: "ResourceNotFound", 405: "UnsupportedOperation",
                413: "RequestSizeLimitExceeded"}.get(exc.status_code, "FailedOperation")
        message = str(exc.detail)
        if message == _FASTAPI_BODY_PARSE_ERROR:  # nested too deeply, a 5,000-digit number...
            message = "the request body could not be read as JSON"
        return problem(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "InternalError", "internal error; quote the request id to support")


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457 problem details) with a stable Tencent-style `code`.",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["InvalidParameterValue"]},
        "detail": {"type": "string"},
        "requestId": {"type": ["string", "null"]},
    },
    "additionalProperties": True,
}


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI document tell the truth about errors: every operation may answer
    any 4xx/5xx as problem+json (a `default` response), and FastAPI's automatic 422, which the
    error handlers never send (bad input is a 400), is dropped."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        default = {"description": "An error: 4xx for the caller's input or state, 5xx for ours",
                   "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                operation["responses"].pop("422", None)
                operation["responses"]["default"] = default
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
