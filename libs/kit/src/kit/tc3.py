"""TC3-HMAC-SHA256 request signing and verification (Tencent Cloud API 3.0).

Signing reproduces ``tencentcloud-sdk-python-common`` 3.1.x byte for byte
(``AbstractClient._get_tc3_signature`` / ``Sign.sign_tc3``); see
``reference/tencent-api-cam.md`` section 1.4 for the algorithm and the golden vectors.

Deliberate choices (the SDK never exercises these cases, so they cannot break it):

* The canonical query string is the raw query and the payload is the raw body, for every
  method. The SDK's POST has no query and its GET has no body, so this is identical for
  everything it sends, and it leaves no unsigned part in requests from other clients.
* Header values: the SDK signs them verbatim; Tencent's documentation says trimmed and
  lower-cased. :func:`verify` accepts either form (trimmed verbatim first), so the SDK
  verifies even with an upper-case endpoint, and so do clients that follow the documentation.
* Only ``content-type`` and ``host`` are signed by the SDK. ``X-TC-Action``, ``X-TC-Version``,
  ``X-TC-Region`` and ``X-TC-Token`` are *not* covered by the signature; the timestamp is,
  through the string to sign.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

__all__ = [
    "ALGORITHM",
    "DEFAULT_SIGNED_HEADERS",
    "INVALID_AUTHORIZATION",
    "INVALID_PARAMETER",
    "MISSING_PARAMETER",
    "REQUIRED_SIGNED_HEADERS",
    "SIGNATURE_EXPIRE",
    "SIGNATURE_FAILURE",
    "UNSIGNED_PAYLOAD",
    "ParsedAuthorization",
    "Tc3Error",
    "build_authorization",
    "build_signed_headers",
    "canonical_headers",
    "canonical_request",
    "credential_scope",
    "parse_authorization",
    "parse_timestamp",
    "payload_hash",
    "scope_date",
    "sign_request",
    "signature",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "TC3-HMAC-SHA256"
TERMINATOR = "tc3_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = ("content-type", "host")
REQUIRED_SIGNED_HEADERS = frozenset(DEFAULT_SIGNED_HEADERS)

INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"
MISSING_PARAMETER = "MissingParameter"
INVALID_PARAMETER = "InvalidParameter"

DEFAULT_WINDOW = 300
MAX_AUTHORIZATION_LENGTH = 4096
MAX_SIGNED_HEADERS = 32
_SIGNING_KEY_CACHE_SIZE = 256

_SECRET_ID = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII ('/' and ',' split earlier)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SERVICE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 token, lower case only
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")


class Tc3Error(Exception):
    """Authentication failure with a Tencent Cloud error code (``AuthFailure.*``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def credential_scope(self) -> str:
        return credential_scope(self.date, self.service)


# --------------------------------------------------------------------------- building blocks


@lru_cache(maxsize=1024)  # on every request; a handful of distinct seconds at a time
def scope_date(timestamp: int) -> str:
    """UTC date of ``timestamp`` as ``YYYY-MM-DD`` (the SDK uses ``utcfromtimestamp``)."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"timestamp out of range: {timestamp!r}") from exc


def credential_scope(date: str, service: str) -> str:
    return f"{date}/{service}/{TERMINATOR}"


def payload_hash(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Hex SHA-256 of the body, or of ``UNSIGNED-PAYLOAD`` when the request says so."""
    if headers is not None and _get_header(headers, "x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        body = UNSIGNED_PAYLOAD.encode()
    return hashlib.sha256(body).hexdigest()


def canonical_headers(
    headers: Mapping[str, str], signed_headers: Sequence[str], *, normalise: bool = False
) -> str:
    """``name:value\\n`` for each signed header, in the order given.

    Names are looked up case-insensitively. ``normalise=False`` keeps values verbatim (what the
    SDK signs); ``normalise=True`` trims and lower-cases them (Tencent's documented form).
    Raises ``KeyError`` naming the header when one is missing.
    """
    lines = []
    for name in signed_headers:
        value = _get_header(headers, name)
        if value is None:
            raise KeyError(name)
        if normalise:
            value = value.strip().lower()
        lines.append(f"{name}:{value}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    path: str,
    query: str,
    canonical_headers: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    # canonical_headers already ends in "\n", hence the empty line before signed_headers.
    return "\n".join((method, path, query, canonical_headers, signed_headers, payload_hash))


def string_to_sign(timestamp: int, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(_utf8(canonical_request)).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


@lru_cache(maxsize=_SIGNING_KEY_CACHE_SIZE)
def signing_key(secret_key: str, date: str, service: str) -> bytes:
    """Derived key ``HMAC(HMAC(HMAC("TC3"+key, date), service), "tc3_request")``, cached (LRU)."""
    k_date = _hmac(_utf8("TC3" + secret_key), date)
    k_service = _hmac(k_date, service)
    return _hmac(k_service, TERMINATOR)


def signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    return hmac.new(
        signing_key(secret_key, date, service), _utf8(string_to_sign), hashlib.sha256
    ).hexdigest()


def build_authorization(
    secret_id: str, date: str, service: str, signed_headers: Sequence[str], signature: str
) -> str:
    return (
        f"{ALGORITHM} Credential={secret_id}/{credential_scope(date, service)}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )


# --------------------------------------------------------------------------- client side


def sign_request(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    timestamp: int,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> str:
    """Return the ``Authorization`` value the SDK would send for this request.

    ``host`` is the signed ``host`` value (it overrides any Host in ``headers``); the other
    signed headers come from ``headers`` (any case). ``query`` is the exact query string sent
    (``""`` for the SDK's POST), ``body`` the exact bytes sent (``b""`` for its GET).
    Header names are signed lower-cased and in ASCII order, values verbatim, as the SDK does.
    """
    names = sorted({name.lower() for name in signed_headers})
    all_headers = {name.lower(): value for name, value in headers.items()}
    all_headers["host"] = host
    try:
        canon_headers = canonical_headers(all_headers, names)
    except KeyError as exc:
        raise ValueError(f"header to sign is missing: {exc.args[0]}") from None
    date = scope_date(timestamp)
    canon = canonical_request(
        method, path, query, canon_headers, ";".join(names), payload_hash(body, all_headers)
    )
    sts = string_to_sign(timestamp, credential_scope(date, service), canon)
    return build_authorization(
        secret_id, date, service, names, signature(secret_key, date, service, sts)
    )


def build_signed_headers(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    action: str,
    version: str,
    *,
    body: bytes = b"",
    method: str = "POST",
    path: str = "/",
    query: str = "",
    timestamp: int | None = None,
    region: str = "",
    language: str | None = "zh-CN",
    token: str | None = None,
    content_type: str | None = None,
    unsigned_payload: bool = False,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> dict[str, str]:
    """Headers for a signed API 3.0 request, shaped like the SDK's (for tests and benchmarks).

    ``content_type`` defaults to the SDK's choice: ``application/json`` for POST,
    ``application/x-www-form-urlencoded`` for GET. Any header in the result may be listed in
    ``signed_headers`` (e.g. ``x-tc-action``).
    """
    if timestamp is None:
        timestamp = int(time.time())
    if content_type is None:
        content_type = (
            "application/x-www-form-urlencoded" if method == "GET" else "application/json"
        )
    headers = {
        "Host": host,
        "Content-Type": content_type,
        "X-TC-Action": action[:1].upper() + action[1:],
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": version,
    }
    if unsigned_payload:
        headers["X-TC-Content-SHA256"] = UNSIGNED_PAYLOAD
    if region:
        headers["X-TC-Region"] = region
    if token:
        headers["X-TC-Token"] = token
    if language:
        headers["X-TC-Language"] = language
    headers["Authorization"] = sign_request(
        secret_id, secret_key, service, host, method, path, query, headers, body, timestamp,
        signed_headers,
    )  # fmt: skip
    return headers


# --------------------------------------------------------------------------- server side


def parse_timestamp(value: str | None) -> int:
    """Parse ``X-TC-Timestamp``; only the canonical decimal form the SDK sends is accepted.

    A non-canonical spelling (``+1``, ``01``, ``1.0``) would make the signed string differ from
    ``str(int(value))``, so it is refused up front rather than failing as a bad signature.
    """
    if value is None or value == "":
        raise Tc3Error(MISSING_PARAMETER, "The request is missing the X-TC-Timestamp header.")
    if not _TIMESTAMP.fullmatch(value):
        raise Tc3Error(INVALID_PARAMETER, "X-TC-Timestamp must be a Unix time in seconds.")
    return int(value)


def parse_authorization(value: str | None, timestamp: int | None = None) -> ParsedAuthorization:
    """Parse a TC3 ``Authorization`` header; raise ``Tc3Error(InvalidAuthorization)`` if malformed.

    Accepts ``TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
    SignedHeaders=<a;b>, Signature=<64 hex>`` with the three fields in any order and optional
    spaces after commas. ``SignedHeaders`` must list lower-case names without duplicates and
    include ``content-type`` and ``host`` (the SDK always signs both). When ``timestamp`` is
    given, the scope date must be its UTC date (also checked by :func:`verify`).
    """
    if not value:
        raise _invalid("The Authorization header is missing.")
    if len(value) > MAX_AUTHORIZATION_LENGTH:
        raise _invalid("The Authorization header is too long.")
    algorithm, sep, rest = value.partition(" ")
    if algorithm != ALGORITHM or not sep:
        raise _invalid(f"The Authorization header must start with '{ALGORITHM} '.")

    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, field_value = part.strip().partition("=")
        if not eq:
            raise _invalid("The Authorization header fields must be key=value pairs.")
        if key not in ("Credential", "SignedHeaders", "Signature"):
            raise _invalid("The Authorization header has an unknown field.")
        if key in fields:
            raise _invalid(f"The Authorization header repeats {key}.")
        fields[key] = field_value
    for key in ("Credential", "SignedHeaders", "Signature"):
        if key not in fields:
            raise _invalid(f"The Authorization header lacks {key}.")

    scope = fields["Credential"].split("/")
    if len(scope) != 4:
        raise _invalid("Credential must be <SecretId>/<date>/<service>/tc3_request.")
    secret_id, date, service, terminator = scope
    if terminator != TERMINATOR:
        raise _invalid("The credential scope must end in tc3_request.")
    if not _SECRET_ID.fullmatch(secret_id):
        raise _invalid("The SecretId in Credential is malformed.")
    if not _is_date(date):
        raise _invalid("The date in Credential must be YYYY-MM-DD.")
    if not _SERVICE.fullmatch(service):
        raise _invalid("The service in Credential is malformed.")

    names = tuple(fields["SignedHeaders"].split(";"))
    if len(names) > MAX_SIGNED_HEADERS or not all(_HEADER_NAME.fullmatch(n) for n in names):
        raise _invalid("SignedHeaders must be lower-case header names separated by ';'.")
    if len(set(names)) != len(names):
        raise _invalid("SignedHeaders lists a header twice.")
    if not REQUIRED_SIGNED_HEADERS.issubset(names):
        raise _invalid("SignedHeaders must include content-type and host.")

    sig = fields["Signature"]
    if not _SIGNATURE.fullmatch(sig):
        raise _invalid("Signature must be 64 hexadecimal digits.")

    parsed = ParsedAuthorization(secret_id, date, service, names, sig.lower())
    if timestamp is not None:
        _check_scope_date(parsed, timestamp)
    return parsed


def verify(
    parsed: ParsedAuthorization,
    secret_key: str,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    timestamp: int,
    now: int,
    window: int = DEFAULT_WINDOW,
    *,
    allow_unsigned_payload: bool = False,
) -> None:
    """Check a parsed TC3 signature against the request as received; raise ``Tc3Error``.

    ``headers`` must have lower-case names and the values as received (the Host as the client
    sent it: preserve it or recover it from ``X-Forwarded-Host`` behind a proxy). ``path`` and
    ``raw_query`` are the undecoded request target (ASGI ``raw_path`` and ``query_string``),
    ``raw_body`` the exact bytes. ``timestamp`` is the parsed ``X-TC-Timestamp``.

    Order of checks: window (``SignatureExpire``, inclusive ``window`` seconds either way),
    scope date (``InvalidAuthorization``), signed headers present, payload, signature
    (``SignatureFailure``).
    """
    if abs(now - timestamp) > window:
        raise Tc3Error(
            SIGNATURE_EXPIRE,
            f"The signature expired: X-TC-Timestamp {timestamp} differs from server time "
            f"{now} by more than {window} seconds.",
        )
    _check_scope_date(parsed, timestamp)

    values = []
    for name in parsed.signed_headers:
        value = headers.get(name)
        if value is None:
            raise Tc3Error(SIGNATURE_FAILURE, f"The signed header {name} is missing.")
        values.append(value.strip())

    unsigned = headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD
    if unsigned and not allow_unsigned_payload:
        raise Tc3Error(SIGNATURE_FAILURE, "Unsigned payloads are not accepted here.")
    body_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode() if unsigned else raw_body).hexdigest()

    signed = ";".join(parsed.signed_headers)
    scope = parsed.credential_scope
    key = signing_key(secret_key, parsed.date, parsed.service)
    expected = parsed.signature.encode()

    def matches(header_values: list[str]) -> bool:
        canon_headers = "".join(
            f"{n}:{v}\n" for n, v in zip(parsed.signed_headers, header_values, strict=True)
        )
        canon = canonical_request(method, path, raw_query, canon_headers, signed, body_hash)
        sts = string_to_sign(timestamp, scope, canon)
        computed = hmac.new(key, _utf8(sts), hashlib.sha256).hexdigest().encode()
        return hmac.compare_digest(computed, expected)

    if matches(values):  # the SDK's form: values verbatim
        return
    lowered = [v.lower() for v in values]
    if lowered != values and matches(lowered):  # the documented form: values lower-cased
        return
    raise Tc3Error(SIGNATURE_FAILURE, "The request signature does not match.")


# --------------------------------------------------------------------------- helpers


def _invalid(message: str) -> Tc3Error:
    return Tc3Error(INVALID_AUTHORIZATION, message)


def _check_scope_date(parsed: ParsedAuthorization, timestamp: int) -> None:
    try:
        expected = scope_date(timestamp)
    except ValueError:
        expected = None
    if parsed.date != expected:
        raise _invalid(
            f"The date in Credential ({parsed.date}) is not the UTC date of X-TC-Timestamp."
        )


@lru_cache(maxsize=256)
def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, _utf8(msg), hashlib.sha256).digest()


def _utf8(text: str) -> bytes:
    # surrogatepass: never raise on odd input; SDK input is ASCII or valid UTF-8 anyway.
    return text.encode("utf-8", "surrogatepass")
