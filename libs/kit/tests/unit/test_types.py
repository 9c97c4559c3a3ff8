"""kit.types: what the shared input types refuse, and what they keep."""

from __future__ import annotations

from typing import Annotated

import pytest
from kit.types import ClientToken, FreeText, SingleLine, no_bool
from pydantic import BaseModel, BeforeValidator, ValidationError


class Model(BaseModel):
    line: SingleLine = "x"
    text: FreeText = "x"
    token: ClientToken = "k"
    count: Annotated[int, BeforeValidator(no_bool)] = 1


@pytest.mark.parametrize("field,value", [
    ("line", "a\x00b"), ("line", "a\tb"), ("line", "a\nb"), ("line", "\ud800"),
    ("line", "x\x7f"), ("text", "a\x00b"), ("text", "\udfff"), ("text", "\x1b[31m"),
    ("token", ""), ("token", "a b"), ("token", "k" * 129), ("token", "é"),
    ("count", True), ("count", False),
])
def test_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Model(**{field: value})


def test_kept() -> None:
    kept = Model(line="发票 title-1", text="line one\r\n\tline two", token="a.B_c:1-" + "k" * 120,
                 count=0)
    assert (kept.line, kept.text, kept.count) == ("发票 title-1", "line one\r\n\tline two", 0)
    assert Model(count="7").count == 7  # a numeric string is still an integer (query params)
