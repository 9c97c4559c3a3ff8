"""Input types shared by the request schemas; limits follow CAM where CAM states one.

Every string type refuses control characters and lone UTF-16 surrogates (PostgreSQL cannot
store NUL or a surrogate, and no name or remark needs them). Integer types refuse JSON booleans,
which pydantic would otherwise read as 0 and 1. Errors surface as `InvalidParameterValue`
naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

UIN_PATTERN = r"^[1-9][0-9]{0,19}$"
MAX_ID = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _no_control_characters(value: str) -> str:
    match = _CONTROL.search(value)
    if match:
        raise ValueError(f"character U+{ord(match.group()):04X} is not allowed")
    return value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _int_to_str(value: Any) -> Any:
    """Uins are numeric strings here; the SDK's models carry them as integers: take both."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]

Uin = Annotated[str, BeforeValidator(_int_to_str), StringConstraints(pattern=UIN_PATTERN)]
"""An account or sub-user uin: a numeric string (an integer is accepted too)."""

Id = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_ID)]
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
Flag = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=1)]
"""CAM's 0/1 switches."""

ClientToken = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                               pattern=r"^[A-Za-z0-9._:-]+$")]
"""An idempotency key (`Idempotency-Key` header, or `client_token` from API 3.0)."""

Page = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=200)]
PageSize = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=200)]
Keyword = Annotated[Text, StringConstraints(min_length=1, max_length=128)]
