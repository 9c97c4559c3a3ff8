"""Translation between Tencent Cloud API 3.0 parameters and the REST JSON bodies.

GET requests from ``tencentcloud-sdk-python-common`` carry their parameters flattened into the
query string (``AbstractClient._format_params`` then ``urlencode``): nested keys are joined with
``.``, list items are addressed by their 0-based index, in dict insertion order, and every value
becomes ``str(value)``. Consequences the gateway must live with:

* values arrive as strings (``True``/``False`` for booleans, ``1.5`` for floats); a schema
  types them later;
* ``None``, ``[]`` and ``{}`` are dropped by the SDK, so absent and empty are indistinguishable;
* a dict key containing ``.`` or made of digits cannot be told apart from nesting.

Name conversion (``PascalCase`` <-> ``snake_case``): a run of capitals is one word, so
``URL`` -> ``url``, ``DownloadURL`` -> ``download_url``, ``GetBEIANList`` -> ``get_beian_list``;
digits stay with the word before them (``Ipv6Address`` <-> ``ipv6_address``). The way back
capitalises each word (``download_url`` -> ``DownloadUrl``), so names round-trip when each word
is written ``Capitalised`` (Tencent's style: ``ContractId``, ``VpcId``); names with acronyms
need an explicit entry in ``overrides``. Every dict key is converted, at any depth: fields that
are maps with caller-chosen keys must not go through :func:`to_rest` / :func:`to_api3`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "ParamError",
    "flatten_params",
    "parse_query",
    "pascal_to_snake",
    "snake_to_pascal",
    "to_api3",
    "to_query",
    "to_rest",
    "unflatten_query",
]

INVALID_PARAMETER = "InvalidParameter"
MAX_DEPTH = 16
MAX_INDEX_DIGITS = 6

_INDEX = re.compile(r"0|[1-9][0-9]*")
_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")


class ParamError(ValueError):
    """A parameter cannot be translated; ``code`` is the Tencent error code to answer."""

    def __init__(self, message: str, code: str = INVALID_PARAMETER) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- query strings


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string into pairs, keeping empty values (the SDK sends ``Name=``)."""
    try:
        return parse_qsl(raw_query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParamError("The query string is not valid UTF-8 form encoding.") from exc


def unflatten_query(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested parameters from GET pairs (``Filters.0.Values.1=y`` style).

    Numeric segments make lists, ordered by index; values stay strings. Raises ``ParamError``
    (``InvalidParameter``, naming the parameter) on an empty segment, a repeated parameter, an
    index with leading zeros or a gap, numeric and named keys mixed under one parameter, a
    parameter that is both a value and a container, or nesting deeper than ``MAX_DEPTH``.
    """
    root = _Node("")
    for key, value in pairs:
        segments = key.split(".")
        if len(segments) > MAX_DEPTH:
            raise ParamError(f"The parameter `{key}` is nested too deeply.")
        if any(s == "" for s in segments):
            raise ParamError(f"The parameter name `{key}` has an empty segment.")
        node = root
        for depth, segment in enumerate(segments):
            last = depth == len(segments) - 1
            path = ".".join(segments[: depth + 1])
            if _is_index(segment):
                if depth == 0:
                    raise ParamError(f"The parameter `{key}` must start with a name.")
                if not _INDEX.fullmatch(segment) or len(segment) > MAX_INDEX_DIGITS:
                    raise ParamError(f"The parameter `{path}` has an invalid list index.")
            child = node.children.get(segment)
            if last:
                if isinstance(child, str):
                    raise ParamError(f"The parameter `{path}` is given more than once.")
                if child is not None:
                    raise ParamError(f"The parameter `{path}` is both a value and a container.")
                node.children[segment] = value
            elif child is None:
                child = node.children[segment] = _Node(path)
            elif isinstance(child, str):
                raise ParamError(f"The parameter `{path}` is both a value and a container.")
            if not last:
                node = child  # type: ignore[assignment]
    result = root.build()
    assert isinstance(result, dict)
    return result


def flatten_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten parameters the way the SDK does for GET, as ``(key, str(value))`` pairs.

    Same order and spelling as the SDK (``None`` and empty containers vanish, tuples are lists,
    scalars go through ``str``). Unlike the SDK it refuses, with ``ParamError``, keys that
    would read back differently (non-strings, empty, containing ``.``, or all digits) and
    ``bytes`` values (``urlencode`` would not ``str`` them).
    """
    out: list[tuple[str, str]] = []
    _flatten(None, params, out)
    return out


def to_query(params: Mapping[str, Any]) -> str:
    """The exact query string the SDK sends for ``params`` on GET."""
    return urlencode(flatten_params(params))


# --------------------------------------------------------------------------- names


@lru_cache(maxsize=2048)
def pascal_to_snake(name: str) -> str:
    """``SubOrderId`` -> ``sub_order_id``; a run of capitals is one word (``URL`` -> ``url``)."""
    return _WORD_BOUNDARY.sub(r"\1_\2", _ACRONYM_BOUNDARY.sub(r"\1_\2", name)).lower()


@lru_cache(maxsize=2048)
def snake_to_pascal(name: str) -> str:
    """``sub_order_id`` -> ``SubOrderId``; each ``_``-separated word gets a capital initial."""
    return "".join(word[:1].upper() + word[1:] for word in name.split("_"))


def to_rest(
    params: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """API 3.0 parameters to a REST body: keys ``PascalCase`` -> ``snake_case`` at every depth.

    ``overrides`` maps a Pascal name to its snake name where the rule is wrong. Two keys that
    convert to the same name raise ``ParamError``.
    """
    result = _convert(params, pascal_to_snake, overrides or {})
    assert isinstance(result, dict)
    return result


def to_api3(body: Any, overrides: Mapping[str, str] | None = None) -> Any:
    """A REST body to API 3.0 style: keys ``snake_case`` -> ``PascalCase`` at every depth.

    ``overrides`` maps a snake name to its Pascal name (e.g. ``{"download_url": "DownloadURL"}``).
    """
    return _convert(body, snake_to_pascal, overrides or {})


# --------------------------------------------------------------------------- internals


class _Node:
    """A parameter with sub-parameters while unflattening; ``path`` names it in errors."""

    __slots__ = ("children", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.children: dict[str, _Node | str] = {}

    def build(self) -> dict[str, Any] | list[Any]:
        keys = list(self.children)
        numeric = [_is_index(k) for k in keys]
        if any(numeric) and not all(numeric):
            raise ParamError(f"The parameter `{self.path}` mixes list indices and names.")
        if not all(numeric) or not keys:
            return {k: _build(v) for k, v in self.children.items()}
        indices = sorted(int(k) for k in keys)
        for expected, index in enumerate(indices):
            if index != expected:
                raise ParamError(
                    f"The parameter `{self.path}.{expected}` is missing "
                    f"(list indices must run from 0 without gaps)."
                )
        return [_build(self.children[str(i)]) for i in indices]


def _is_index(segment: str) -> bool:
    """Digits, or what a caller may have meant as a (negative or signed) list index."""
    if segment[:1] in ("-", "+"):
        segment = segment[1:]
    return segment.isascii() and segment.isdigit()


def _build(value: _Node | str) -> Any:
    return value if isinstance(value, str) else value.build()


def _flatten(prefix: str | None, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or key == "" or "." in key or _is_index(key):
                raise ParamError(f"The parameter name {key!r} cannot be flattened.")
            _flatten(key if prefix is None else f"{prefix}.{key}", item, out)
    elif isinstance(value, list | tuple):
        if prefix is None:
            raise ParamError("Only a mapping of parameters can be flattened.")
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, out)
    elif prefix is None:
        raise ParamError("Only a mapping of parameters can be flattened.")
    elif isinstance(value, bytes | bytearray):
        raise ParamError(f"The parameter `{prefix}` is bytes, which cannot be flattened.")
    else:
        out.append((prefix, str(value)))


def _convert(value: Any, rename: Any, overrides: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = (overrides.get(key) or rename(key)) if isinstance(key, str) else key
            if new_key in out:
                raise ParamError(f"The parameter `{key}` duplicates another one.")
            out[new_key] = _convert(item, rename, overrides)
        return out
    if isinstance(value, list | tuple):
        return [_convert(item, rename, overrides) for item in value]
    return value
