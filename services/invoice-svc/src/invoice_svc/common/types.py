"""Input types shared by the request bodies and query parameters of invoice-svc's routes.

Strings that reach the database without a domain rule of their own (ids, search terms,
free-text reasons) refuse NUL and other control characters and lone UTF-16 surrogates:
PostgreSQL can store neither NUL nor a surrogate and would answer the query with an error (a
500). Free text may keep tabs and line breaks; identifiers may not. Flags are JSON booleans
only: pydantic's lax mode would otherwise read `1`, `0`, `"yes"` or `"off"` as a boolean and
change data the caller did not mean to. Errors surface as `InvalidParameterValue` naming the
field (kit.errors).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StrictBool, StringConstraints

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_BUT_SPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    match = pattern.search(value)
    if match:
        raise ValueError(f"character U+{ord(match.group()):04X} is not allowed")
    return value


def _single_line(value: str) -> str:
    return _refuse(_CONTROL, value)


def _free_text(value: str) -> str:
    return _refuse(_CONTROL_BUT_SPACE, value)


Token = Annotated[str, AfterValidator(_single_line)]
"""An identifier or search term: no control characters (not even tab or newline)."""

Text = Annotated[str, AfterValidator(_free_text)]
"""Free text: no control characters except tab, CR and LF."""

Flag = StrictBool
"""A JSON `true` or `false`, nothing else."""

RecordId = Annotated[Token, StringConstraints(min_length=1, max_length=64)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Amount = Annotated[str, StringConstraints(min_length=1, max_length=32)]
"""A yuan amount as a string; parsed by `common.money.to_fen`, which names the field."""

ClientToken = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                               pattern=r"^[A-Za-z0-9._:-]+$")]
"""An idempotency key (`Idempotency-Key` header, or `client_token` from API 3.0)."""
