"""The API 3.0 facade: an action call becomes a REST request on the same route, and the REST
answer becomes ``{"Response": {..., "RequestId"}}``.

Parameters (JSON body of a POST, flattened query of a GET) are ``PascalCase``; they become
``snake_case``. Those named in the route's path fill the path (percent-encoded); the rest form
the JSON body, or the query string for a GET route, where scalars are ``name=value``, lists of
scalars repeat the name and anything nested is one JSON-encoded value. ``ClientToken`` becomes
the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kit import jsonutil
from kit.routes import Route
from kit.types import IDEMPOTENCY_KEY_RE

from gateway.errors import Answer, GatewayError, api3_envelope, api3_error
from gateway.facade.params import (
    ParamError,
    parse_query,
    snake_to_pascal,
    to_api3,
    to_rest,
    unflatten_query,
)

CLIENT_TOKEN = "client_token"
MAX_BODY_DEPTH = 32  # objects and arrays, the body's own object included

# Every object key in a JSON text is a string followed by a colon: an upper bound on keys.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    method: str
    path: str  # percent-encoded
    query: bytes
    body: bytes
    headers: list[tuple[bytes, bytes]]


def read_params(method: str, raw_query: str, body: bytes) -> dict[str, Any]:
    """The action's parameters, still ``PascalCase``: the JSON object of a POST (``null`` or
    empty means none), or the unflattened query of a GET."""
    try:
        if method == "GET":
            return unflatten_query(parse_query(raw_query))
        if not body.strip() or body.strip() == b"null":
            return {}
        params = jsonutil.loads(body)
    except ParamError as exc:
        raise GatewayError(exc.code, exc.message) from None
    except ValueError:
        raise GatewayError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise GatewayError("InvalidParameter", "The request body must be a JSON object.")
    if _count_keys(params, 1) != len(_KEY_END.findall(body)):
        _refuse_duplicate_keys(body)
    return params


def check_content_type(value: str | None) -> None:
    """A POST's body is JSON: ``application/json``, any case, with at most a UTF-8 charset."""
    media, _, parameters = (value or "").partition(";")
    if media.strip().lower() != "application/json":
        raise GatewayError("InvalidParameter", "API 3.0 POST requests must have Content-Type "
                           "application/json.")
    for parameter in parameters.split(";"):
        name, _, given = parameter.partition("=")
        if name.strip().lower() == "charset" and given.strip().strip('"').lower() not in (
                "utf-8", "utf8"):
            raise GatewayError("InvalidParameter", "API 3.0 request bodies are UTF-8 JSON.")


def _count_keys(value: Any, depth: int) -> int:
    """The keys of every object in ``value``; ``GatewayError`` when it nests deeper than
    ``MAX_BODY_DEPTH`` (parameters never do; the translation and the JSON encoder would fail)."""
    if depth > MAX_BODY_DEPTH and isinstance(value, dict | list):
        raise GatewayError("InvalidParameter", f"The parameters nest deeper than "
                           f"{MAX_BODY_DEPTH} levels.")
    if isinstance(value, dict):
        return len(value) + sum(_count_keys(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return sum(_count_keys(v, depth + 1) for v in value)
    return 0


def _refuse_duplicate_keys(body: bytes) -> None:
    """Fewer keys parsed than written may mean a key given twice (orjson keeps the last one
    silently); the slow parse tells, and names it."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise GatewayError("InvalidParameter",
                                   f"The parameter `{key}` is given more than once.")
            seen[key] = value
        return seen

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # orjson read it, so this cannot be a real error
        return


def build_call(route: Route, params: dict[str, Any]) -> tuple[UpstreamCall, dict[str, Any]]:
    """The REST request for an action, and the values its CAM resource may use."""
    try:
        rest = to_rest(params)
    except ParamError as exc:
        raise GatewayError(exc.code, exc.message) from None
    headers: list[tuple[bytes, bytes]] = []
    token = rest.pop(CLIENT_TOKEN, None)
    if token is not None:
        if not isinstance(token, str) or not IDEMPOTENCY_KEY_RE.fullmatch(token):
            raise GatewayError("InvalidParameterValue", "ClientToken must be 1 to 128 letters, "
                               "digits and '._:-'.")
        headers.append((b"idempotency-key", token.encode()))
    values = dict(rest)
    path = route.path
    for name in route.path_params:
        value = rest.pop(name, None)
        if value is None or value == "":
            raise GatewayError("MissingParameter",
                               f"The parameter `{snake_to_pascal(name)}` is missing.")
        if isinstance(value, dict | list | bool):
            raise GatewayError("InvalidParameterValue",
                               f"The parameter `{snake_to_pascal(name)}` must be a string.")
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    if route.method == "GET":
        return UpstreamCall("GET", path, _query(rest).encode(), b"", headers), values
    headers.append((b"content-type", b"application/json"))
    return UpstreamCall(route.method, path, b"", jsonutil.dumps(rest), headers), values


def _query(params: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            pairs.extend((name, _scalar(v)) for v in value)
        elif isinstance(value, dict | list):
            pairs.append((name, jsonutil.dumps(value).decode()))
        else:
            pairs.append((name, _scalar(value)))
    return urlencode(pairs)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- answers


def answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes,
           request_id: str) -> Answer:
    """A service's REST answer as an API 3.0 envelope (HTTP 200, ``application/json``)."""
    content_type = next((v for k, v in headers if k == b"content-type"), b"")
    data: Any = None
    if body and (b"json" in content_type):
        try:
            data = jsonutil.loads(body)
        except ValueError:
            data = None
    if 200 <= status < 300:
        if data is None and body:
            return api3_error("InternalError", "The action answered something that is not "
                              "JSON.", request_id)
        if data is None:
            return api3_envelope({}, request_id)
        converted = to_api3(data)
        return api3_envelope(converted if isinstance(converted, dict) else {"Data": converted},
                             request_id)
    code, message = _problem(status, data)
    return api3_error(code, _pascal_message(code, message), request_id)


def _problem(status: int, data: Any) -> tuple[str, str]:
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        return data["code"], str(data.get("detail") or data.get("title") or data["code"])
    if status == 404:
        return "ResourceNotFound", "The resource does not exist."
    if status >= 500:
        return "InternalError", "The service failed; quote the RequestId to support."
    return "FailedOperation", f"The service refused the request (HTTP {status})."


def _pascal_message(code: str, message: str) -> str:
    """kit's validation messages name snake_case locations (``missing parameter: a.b``,
    ``a.b: msg``); name them as the API 3.0 caller wrote them."""
    if not code.startswith(("MissingParameter", "InvalidParameter")):
        return message
    head, sep, tail = message.partition(": ")
    if not sep:
        return message
    if head == "missing parameter":
        return f"{head}: {_pascal_path(tail)}"
    if " " not in head:
        return f"{_pascal_path(head)}: {tail}"
    return message


def _pascal_path(path: str) -> str:
    return ".".join(p if p.isdigit() else snake_to_pascal(p) for p in path.split("."))
