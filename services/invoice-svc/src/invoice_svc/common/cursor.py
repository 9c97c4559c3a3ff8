"""Opaque keyset cursors: the position after the last item of a page, base64url JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from invoice_svc.common.errors import CursorInvalid


def encode_cursor(*position: Any) -> str:
    raw = json.dumps(list(position), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise CursorInvalid("cursor is not one this API returned") from None
    if not isinstance(position, list) or len(position) != arity:
        raise CursorInvalid("cursor is not one this API returned")
    return position
