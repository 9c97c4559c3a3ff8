"""Input types shared by the request bodies and query parameters of invoice-svc's routes.

Strings that reach the database without a domain rule of their own (ids, search terms,
free-text reasons) refuse NUL and other control characters and lone UTF-16 surrogates
(kit.types says why). Free text may keep tabs and line breaks; identifiers may not. Flags are
JSON booleans only: pydantic's lax mode would otherwise read `1`, `0`, `"yes"` or `"off"` as a
boolean and change data the caller did not mean to. Errors surface as `InvalidParameterValue`
naming the field (kit.errors).
"""

from __future__ import annotations

from typing import Annotated

from kit.types import ClientToken as ClientToken  # re-exported
from kit.types import FreeText, SingleLine
from pydantic import StrictBool, StringConstraints

Token = SingleLine
"""An identifier or search term: no control characters (not even tab or newline)."""

Text = FreeText
"""Free text: no control characters except tab, CR and LF."""

Flag = StrictBool
"""A JSON `true` or `false`, nothing else."""

RecordId = Annotated[Token, StringConstraints(min_length=1, max_length=64)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Amount = Annotated[str, StringConstraints(min_length=1, max_length=32)]
"""A yuan amount as a string; parsed by `common.money.to_fen`, which names the field."""

