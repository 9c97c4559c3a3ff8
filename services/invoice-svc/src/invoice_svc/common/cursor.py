"""Opaque keyset cursors: the position after the last item of a page, base64url JSON.

A cursor comes back from the caller, so anything in it is untrusted: `decode_cursor` accepts
only a list of the expected length whose items are plain strings (no control characters or
lone surrogates, which PostgreSQL cannot compare) or integers, and `cursor_text` /
`cursor_instant` check each position's type. Anything else is `InvalidParameterValue.Cursor`,
never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from invoice_svc.common.errors import CursorInvalid

_MESSAGE = "cursor is not one this API returned"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def encode_cursor(*position: Any) -> str:
    raw = json.dumps(list(position), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _plain(item: Any) -> bool:
    if isinstance(item, str):
        return _CONTROL.search(item) is None
    return isinstance(item, int) and not isinstance(item, bool)


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, binascii.Error, RecursionError):
        raise CursorInvalid(_MESSAGE) from None
    if (not isinstance(position, list) or len(position) != arity
            or not all(_plain(item) for item in position)):
        raise CursorInvalid(_MESSAGE)
    return position


def cursor_text(value: Any) -> str:
    """A string position of a decoded cursor."""
    if not isinstance(value, str):
        raise CursorInvalid(_MESSAGE)
    return value


def cursor_instant(value: Any) -> datetime:
    """A timestamp position of a decoded cursor: an aware ISO 8601 string, as UTC."""
    try:
        at = datetime.fromisoformat(cursor_text(value))
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise CursorInvalid(_MESSAGE) from None
