"""Input types the services' request models share (pydantic ``Annotated`` types).

Strings refuse control characters and lone UTF-16 surrogates: PostgreSQL stores neither NUL
nor a surrogate and would answer the insert with an error (a 500), and no name, id or search
term needs them. ``no_bool`` keeps JSON ``true``/``false`` out of integer fields, which
pydantic's lax mode would read as 1 and 0. Errors surface as ``InvalidParameterValue`` naming
the field (kit.errors).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, StringConstraints

IDEMPOTENCY_KEY_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An ``Idempotency-Key`` header or ``client_token`` (API 3.0 ``ClientToken``)."""

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_BUT_LINE_BREAKS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    match = pattern.search(value)
    if match:
        raise ValueError(f"character U+{ord(match.group()):04X} is not allowed")
    return value


def _single_line(value: str) -> str:
    return _refuse(_CONTROL, value)


def _free_text(value: str) -> str:
    return _refuse(_CONTROL_BUT_LINE_BREAKS, value)


def no_bool(value: Any) -> Any:
    """A ``BeforeValidator`` for integer fields: refuse JSON booleans."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


SingleLine = Annotated[str, AfterValidator(_single_line)]
"""A name, identifier or search term: no control characters (not even tab or newline)."""

FreeText = Annotated[str, AfterValidator(_free_text)]
"""Free text: no control characters except tab, CR and LF."""

ClientToken = Annotated[str, StringConstraints(pattern=IDEMPOTENCY_KEY_RE.pattern.join("^$"))]
"""An idempotency key: 1-128 of letters, digits and ``._:-``."""
