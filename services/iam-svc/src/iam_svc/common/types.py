"""Input types shared by the request schemas; limits follow CAM where CAM states one.

Every string type refuses control characters and lone UTF-16 surrogates, and integer types
refuse JSON booleans (kit.types says why). Errors surface as `InvalidParameterValue` naming the
field. `ClientToken` is kit's, re-exported.
"""

from __future__ import annotations

from typing import Annotated, Any

from kit.types import ClientToken as ClientToken  # re-exported
from kit.types import SingleLine, no_bool
from pydantic import BeforeValidator, Field, StringConstraints

UIN_PATTERN = r"^[1-9][0-9]{0,19}$"
MAX_ID = 2**63 - 1


def _int_to_str(value: Any) -> Any:
    """Uins are numeric strings here; the SDK's models carry them as integers: take both."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Text = SingleLine
"""Any other text: no control characters, no lone surrogates."""

Uin = Annotated[str, BeforeValidator(_int_to_str), StringConstraints(pattern=UIN_PATTERN)]
"""An account or sub-user uin: a numeric string (an integer is accepted too)."""

Id = Annotated[int, BeforeValidator(no_bool), Field(ge=1, le=MAX_ID)]
"""A positive 64-bit id (policies, groups, sub-user uids)."""

UserName = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                            pattern=r"^[A-Za-z0-9_+=,.@-]+$")]
"""CAM user and group names: 1-64 of letters, digits and `_+=,.@-`."""

PolicyName = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                              pattern=r"^[A-Za-z0-9_+=,.@-]+$")]
"""CAM policy names: 1-128 of letters, digits and `_+=,.@-`."""

Remark = Annotated[Text, StringConstraints(max_length=255)]
"""Remarks and descriptions of users, groups and policies: at most 255 characters."""

KeyDescription = Annotated[str, StringConstraints(min_length=1, max_length=1024,
                                                  pattern=r"^[\w+=,.@:/-]+$")]
"""CAM's access-key description: 1-1024 of word characters and `+=,.@:/-`."""

PhoneNum = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9-]+$")]
CountryCode = Annotated[str, StringConstraints(min_length=1, max_length=8,
                                               pattern=r"^\+?[0-9]{1,6}$")]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254,
                                         pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$")]
Flag = Annotated[int, BeforeValidator(no_bool), Field(ge=0, le=1)]
"""CAM's 0/1 switches."""

Page = Annotated[int, BeforeValidator(no_bool), Field(ge=1, le=200)]
PageSize = Annotated[int, BeforeValidator(no_bool), Field(ge=1, le=200)]
Keyword = Annotated[Text, StringConstraints(min_length=1, max_length=128)]
