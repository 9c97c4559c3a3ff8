"""`TaxPlatform` over HTTP, against the simulated platform server (`taxplatform/server.py`).

How answers map onto the interface's errors:
- timeouts, connection errors, 408/425/429 and 5xx, and answers we cannot read ->
  `PlatformUnavailable` (the outcome is unknown: retry with the same order number);
- other 4xx -> `PlatformRejected(code, reason)` from the JSON body (`HTTP<status>` when the
  body carries no code);
- 404 with the platform's not-found code on a query -> None. A 404 without that code is some
  other hop answering (a proxy, a wrong base URL), so it is `PlatformUnavailable`, never "the
  platform does not know this order".

The JSON wire format lives here too (`*_to_wire` / `*_from_wire`) and the server uses the same
functions, so both sides agree by construction. Money is integer fen, rates and quantities are
decimal strings, times ISO 8601 with offset, documents base64.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args, get_type_hints
from urllib.parse import quote

import httpx

from invoice_svc.documents.model import DocumentLine, Party
from invoice_svc.taxplatform.interface import (
    IssuedDocuments,
    IssueRequest,
    IssueResult,
    PlatformRejected,
    PlatformUnavailable,
    RedForm,
    RedFormRequest,
)

__all__ = ["NOT_FOUND_CODE", "HttpTaxPlatform", "WireError"]

#: The code the server answers a 404 with when it does not know the order or form.
NOT_FOUND_CODE = "E4040"
RETRYABLE_STATUS = frozenset({408, 425, 429})
#: The simulator server serves the red invoice of form N as the order `red:N`.
RED_ORDER_PREFIX = "red:"


class HttpTaxPlatform:
    """A `TaxPlatform` talking JSON to `base_url`. `transport` lets tests plug in an
    `httpx.ASGITransport` (the server app in process) or an `httpx.MockTransport`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"),
                                         timeout=httpx.Timeout(timeout), transport=transport)

    async def issue(self, request: IssueRequest) -> IssueResult:
        body = await self._call("POST", "/v1/invoices", json=issue_request_to_wire(request))
        return _read(issue_result_from_wire, body)

    async def query(self, order_no: str) -> IssueResult | None:
        body = await self._call("GET", f"/v1/invoices/{_segment(order_no)}", missing_ok=True)
        return None if body is None else _read(issue_result_from_wire, body)

    async def request_red_form(self, request: RedFormRequest) -> RedForm:
        body = await self._call("POST", "/v1/red-forms", json=red_form_request_to_wire(request))
        return _read(red_form_from_wire, body)

    async def query_red_form(self, form_number: str) -> RedForm | None:
        body = await self._call("GET", f"/v1/red-forms/{_segment(form_number)}", missing_ok=True)
        return None if body is None else _read(red_form_from_wire, body)

    async def confirm_red_form(self, form_number: str) -> RedForm:
        return await self._form_action(form_number, "confirm")

    async def reject_red_form(self, form_number: str) -> RedForm:
        return await self._form_action(form_number, "reject")

    async def revoke_red_form(self, form_number: str) -> RedForm:
        return await self._form_action(form_number, "revoke")

    async def query_red_invoice(self, form_number: str) -> IssueResult | None:
        """The simulator serves a form's red invoice as the order `red:<form number>`."""
        return await self.query(RED_ORDER_PREFIX + form_number)

    async def list_inbound_red_forms(self, since: datetime) -> Sequence[RedForm]:
        body = await self._call("GET", "/v1/inbound-red-forms",
                                params={"since": _time_to_wire(since)})
        return _read(lambda b: [red_form_from_wire(f) for f in b["forms"]], body)

    async def close(self) -> None:
        await self._client.aclose()

    # --- plumbing ---------------------------------------------------------------------------
    async def _form_action(self, form_number: str, action: str) -> RedForm:
        body = await self._call("POST", f"/v1/red-forms/{_segment(form_number)}/{action}")
        return _read(red_form_from_wire, body)

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, str] | None = None, missing_ok: bool = False) -> Any:
        try:
            response = await self._client.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise PlatformUnavailable(f"税务平台超时：{method} {path}") from exc
        except httpx.TransportError as exc:
            raise PlatformUnavailable(f"无法连接税务平台：{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status >= 500 or status in RETRYABLE_STATUS:
            raise PlatformUnavailable(f"税务平台暂不可用：HTTP {status} {_text(response)}")
        body = _json(response)
        if 200 <= status < 300:
            if body is None:
                raise PlatformUnavailable(f"税务平台应答无法解析：HTTP {status}")
            return body
        code = body.get("code") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if status == 404 and code == NOT_FOUND_CODE and missing_ok:
            return None
        if status == 404 and code is None:
            raise PlatformUnavailable(f"税务平台地址不正确或未就绪：HTTP 404 {method} {path}")
        if status in AMBIGUOUS_STATUS or code is None:
            # Not a refusal the platform explained (an auth proxy, a body too big, a 4xx
            # without a platform code): what happened is unknown, so never "failed".
            raise PlatformUnavailable(f"税务平台应答无法判定：HTTP {status} {_text(response)}")
        if 400 <= status < 500:
            raise PlatformRejected(str(code), str(reason or _text(response)))
        raise PlatformUnavailable(f"税务平台应答异常：HTTP {status}")


#: 4xx answers that say nothing about the request itself (credentials, proxies, sizes).
AMBIGUOUS_STATUS = frozenset({401, 403, 407, 413})


def _segment(value: str) -> str:
    return quote(value, safe="")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _text(response: httpx.Response) -> str:
    return response.text[:200]


def _read(decode: Any, body: Any) -> Any:
    """Decode an answer; one we cannot read means we do not know what happened."""
    try:
        return decode(body)
    except (WireError, KeyError, TypeError, ValueError) as exc:
        raise PlatformUnavailable(f"税务平台应答无法解析：{exc}") from exc


# --- wire format ------------------------------------------------------------------------------


class WireError(ValueError):
    """A JSON body that does not have the expected shape."""


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"{name} must be a string")
    return value


def _opt_str(value: Any, name: str) -> str | None:
    return None if value is None else _str(value, name)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError(f"{name} must be an integer")
    return value


def _dec(value: Any, name: str) -> Decimal:
    try:
        result = Decimal(_str(value, name))
    except InvalidOperation:
        raise WireError(f"{name} must be a decimal string") from None
    if not result.is_finite():
        raise WireError(f"{name} must be finite")
    return result


def _opt_dec(value: Any, name: str) -> Decimal | None:
    return None if value is None else _dec(value, name)


def _time_to_wire(value: datetime) -> str:
    return value.isoformat()


def _time(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_str(value, name))
    except ValueError:
        raise WireError(f"{name} must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise WireError(f"{name} must carry a UTC offset")
    return parsed


def _b64(value: Any, name: str) -> bytes:
    try:
        return base64.b64decode(_str(value, name), validate=True)
    except binascii.Error:
        raise WireError(f"{name} must be base64") from None


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{name} must be an object")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise WireError(f"{name} must be a list")
    return value


_D = TypeVar("_D")


def _field_decoder(hint: Any) -> Any:
    scalars: dict[Any, Any] = {str: _str, int: _int, Decimal: _dec}
    if hint in scalars:
        return scalars[hint]
    args = get_args(hint)
    if len(args) == 2 and type(None) in args:
        inner = scalars[next(a for a in args if a is not type(None))]
        return lambda value, name: None if value is None else inner(value, name)
    raise TypeError(f"no wire format for {hint!r}")


def _flat_codec(cls: type[_D]) -> tuple[Any, Any]:
    """(encode, decode) for a dataclass of str/int/Decimal fields, optional or not, derived
    from its fields so a field added to the model travels without touching this module."""
    hints = get_type_hints(cls)
    decoders = {f.name: _field_decoder(hints[f.name]) for f in fields(cls)}  # type: ignore[arg-type]

    def encode(obj: _D) -> dict[str, Any]:
        out = {}
        for name in decoders:
            value = getattr(obj, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out

    def decode(data: Any) -> _D:
        d = _dict(data, cls.__name__)
        return cls(**{name: decode_field(d.get(name), name)
                      for name, decode_field in decoders.items()})

    return encode, decode


party_to_wire, party_from_wire = _flat_codec(Party)
line_to_wire, line_from_wire = _flat_codec(DocumentLine)


def issue_request_to_wire(r: IssueRequest) -> dict[str, Any]:
    return {"order_no": r.order_no, "kind": r.kind, "buyer": party_to_wire(r.buyer),
            "seller": party_to_wire(r.seller), "lines": [line_to_wire(x) for x in r.lines],
            "drawer": r.drawer, "remark": r.remark, "buyer_email": r.buyer_email,
            "original_number": r.original_number, "red_form_number": r.red_form_number}


def issue_request_from_wire(data: Any) -> IssueRequest:
    d = _dict(data, "request")
    return IssueRequest(
        order_no=_str(d.get("order_no"), "order_no"),
        kind=_str(d.get("kind"), "kind"),  # type: ignore[arg-type]  # the platform checks
        buyer=party_from_wire(d.get("buyer")), seller=party_from_wire(d.get("seller")),
        lines=tuple(line_from_wire(x) for x in _list(d.get("lines"), "lines")),
        drawer=_str(d.get("drawer"), "drawer"), remark=_str(d.get("remark", ""), "remark"),
        buyer_email=_opt_str(d.get("buyer_email"), "buyer_email"),
        original_number=_opt_str(d.get("original_number"), "original_number"),
        red_form_number=_opt_str(d.get("red_form_number"), "red_form_number"))


def issue_result_to_wire(r: IssueResult) -> dict[str, Any]:
    docs = r.documents
    return {"order_no": r.order_no, "state": r.state, "number": r.number,
            "issued_at": None if r.issued_at is None else _time_to_wire(r.issued_at),
            "documents": None if docs is None else {
                "pdf": base64.b64encode(docs.pdf).decode(),
                "xml": base64.b64encode(docs.xml).decode(),
                "ofd": None if docs.ofd is None else base64.b64encode(docs.ofd).decode()},
            "failure_code": r.failure_code, "failure_reason": r.failure_reason}


def issue_result_from_wire(data: Any) -> IssueResult:
    d = _dict(data, "result")
    state = _str(d.get("state"), "state")
    if state not in ("issuing", "issued", "failed"):
        raise WireError(f"unknown state {state!r}")
    docs = d.get("documents")
    documents = None
    if docs is not None:
        docs = _dict(docs, "documents")
        documents = IssuedDocuments(
            pdf=_b64(docs.get("pdf"), "pdf"), xml=_b64(docs.get("xml"), "xml"),
            ofd=None if docs.get("ofd") is None else _b64(docs["ofd"], "ofd"))
    issued_at = d.get("issued_at")
    return IssueResult(order_no=_str(d.get("order_no"), "order_no"),
                       state=state,  # type: ignore[arg-type]
                       number=_opt_str(d.get("number"), "number"),
                       issued_at=None if issued_at is None else _time(issued_at, "issued_at"),
                       documents=documents,
                       failure_code=_opt_str(d.get("failure_code"), "failure_code"),
                       failure_reason=_opt_str(d.get("failure_reason"), "failure_reason"))


def red_lines_from_wire(data: Any) -> tuple[tuple[int, int, int], ...]:
    out = []
    for entry in _list(data, "lines"):
        triple = _list(entry, "line")
        if len(triple) != 3:
            raise WireError("a red line is [blue line index, net fen, tax fen]")
        out.append((_int(triple[0], "index"), _int(triple[1], "net_fen"),
                    _int(triple[2], "tax_fen")))
    return tuple(out)


def red_form_request_to_wire(r: RedFormRequest) -> dict[str, Any]:
    return {"request_no": r.request_no, "blue_number": r.blue_number, "reason": r.reason,
            "buyer_deducted": r.buyer_deducted, "lines": [list(x) for x in r.lines]}


def red_form_request_from_wire(data: Any) -> RedFormRequest:
    d = _dict(data, "request")
    deducted = d.get("buyer_deducted")
    if not isinstance(deducted, bool):
        raise WireError("buyer_deducted must be true or false")
    return RedFormRequest(request_no=_str(d.get("request_no"), "request_no"),
                          blue_number=_str(d.get("blue_number"), "blue_number"),
                          reason=_str(d.get("reason"), "reason"),  # type: ignore[arg-type]
                          buyer_deducted=deducted,
                          lines=red_lines_from_wire(d.get("lines", [])))


def red_form_to_wire(f: RedForm) -> dict[str, Any]:
    return {"form_number": f.form_number, "blue_number": f.blue_number, "state": f.state,
            "raised_by": f.raised_by, "reason": f.reason, "amount_fen": f.amount_fen,
            "created_at": _time_to_wire(f.created_at),
            "red_invoice_number": f.red_invoice_number, "request_no": f.request_no,
            "lines": [list(x) for x in f.lines]}


def red_form_from_wire(data: Any) -> RedForm:
    d = _dict(data, "form")
    raised_by = _str(d.get("raised_by"), "raised_by")
    if raised_by not in ("seller", "buyer"):
        raise WireError(f"unknown raised_by {raised_by!r}")
    return RedForm(form_number=_str(d.get("form_number"), "form_number"),
                   blue_number=_str(d.get("blue_number"), "blue_number"),
                   state=_str(d.get("state"), "state"),
                   raised_by=raised_by,  # type: ignore[arg-type]
                   reason=_str(d.get("reason"), "reason"),  # type: ignore[arg-type]
                   amount_fen=_int(d.get("amount_fen"), "amount_fen"),
                   created_at=_time(d.get("created_at"), "created_at"),
                   red_invoice_number=_opt_str(d.get("red_invoice_number"),
                                               "red_invoice_number"),
                   request_no=_opt_str(d.get("request_no"), "request_no"),
                   lines=red_lines_from_wire(d.get("lines", [])))
