"""CAM condition operators: parsing a ``condition`` block and testing it against a request context.

Semantics (reference: tencent-api-cam.md §2.2):

- ``{"<operator>": {"<key>": <value or [values]>}}``. Several values of one key: OR. Several keys
  under one operator: AND. Several operators in a block: AND.
- ``<operator>_if_exist``: the condition holds when the key is absent from the context (not
  allowed on ``null_equal``). Without the suffix an absent key fails the condition, for the
  negated operators too.
- Negated operators (``*_not_equal``, ``string_not_like``, ``ip_not_equal``) are the negation of
  their positive operator: they hold when the context value matches *none* of the values.
- ``for_any_value:<op>`` / ``for_all_value:<op>`` apply ``<op>`` to every element of a
  multi-valued context value and need any / all of them to hold. A multi-valued context value
  without a qualifier is treated like ``for_any_value``. An empty collection counts as absent.
- A context value that cannot be read as the operator's type (say ``"abc"`` for a numeric
  operator) fails the condition, for the negated operators too: a type error never grants.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final

POLICY_VARIABLES: Final = frozenset({"uin", "owner_uin", "app_id"})
"""Policy variables CAM defines: caller UIN, caller's root (owner) UIN, caller's app id."""

VARIABLE_RE: Final = re.compile(r"\$\{([^}]*)\}")

_INVALID: Final = object()
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MULTI_VALUED = (list, tuple, set, frozenset)


class ConditionSyntaxError(ValueError):
    """A malformed condition block; ``where`` is a path relative to the block."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True, slots=True)
class _OperatorSpec:
    kind: str  # string | string_ic | like | numeric | date | bool | binary | ip | null
    compare: str  # eq | lt | le | gt | ge | like | in_network | null
    negated: bool = False


def _family(prefix: str, kind: str) -> dict[str, _OperatorSpec]:
    return {
        f"{prefix}_equal": _OperatorSpec(kind, "eq"),
        f"{prefix}_not_equal": _OperatorSpec(kind, "eq", negated=True),
        f"{prefix}_less_than": _OperatorSpec(kind, "lt"),
        f"{prefix}_less_than_equal": _OperatorSpec(kind, "le"),
        f"{prefix}_greater_than": _OperatorSpec(kind, "gt"),
        f"{prefix}_greater_than_equal": _OperatorSpec(kind, "ge"),
    }


BASE_OPERATORS: Final[Mapping[str, _OperatorSpec]] = {
    "string_equal": _OperatorSpec("string", "eq"),
    "string_not_equal": _OperatorSpec("string", "eq", negated=True),
    "string_equal_ignore_case": _OperatorSpec("string_ic", "eq"),
    "string_not_equal_ignore_case": _OperatorSpec("string_ic", "eq", negated=True),
    "string_like": _OperatorSpec("like", "like"),
    "string_not_like": _OperatorSpec("like", "like", negated=True),
    **_family("numeric", "numeric"),
    **_family("date", "date"),
    "bool_equal": _OperatorSpec("bool", "eq"),
    "binary_equal": _OperatorSpec("binary", "eq"),
    "ip_equal": _OperatorSpec("ip", "in_network"),
    "ip_not_equal": _OperatorSpec("ip", "in_network", negated=True),
    "null_equal": _OperatorSpec("null", "null"),
}

_QUALIFIERS: Final = {"for_any_value:": "any", "for_all_value:": "all"}
_IF_EXIST: Final = "_if_exist"


# --- value parsing --------------------------------------------------------------------------


def parse_cam_time(text: str) -> int:
    """Parse a CAM date literal to microseconds since the epoch.

    Accepts ``2016-06-01T00:01:00Z`` and ``2022-05-31 00:00:00`` (both appear in the CAM docs),
    fractional seconds, UTC offsets and bare dates. A time without an offset is UTC.
    """
    return _parse_time_cached(text.strip())


@lru_cache(maxsize=1024)
def _parse_time_cached(text: str) -> int:
    if not text or not text[0].isdigit():
        raise ValueError(f"not a date: {text!r}")
    moment = datetime.fromisoformat(text)
    return _datetime_micros(moment)


def _datetime_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _scalar_text(raw: object) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float | Decimal):
        return str(raw)
    return None


def _to_decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, float | str):
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _to_micros(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, datetime):
        return _datetime_micros(raw)
    if isinstance(raw, int):
        return raw * 1_000_000
    if isinstance(raw, float):
        return round(raw * 1_000_000) if raw == raw and abs(raw) < 1e15 else None
    if isinstance(raw, str):
        try:
            return parse_cam_time(raw)
        except ValueError:
            return None
    return None


def _to_bool(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return None


def _to_bytes(raw: object) -> bytes | None:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


@lru_cache(maxsize=4096)
def _parse_ip_cached(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _to_ip(raw: object) -> object:
    if isinstance(raw, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return raw
    if isinstance(raw, str):
        return _parse_ip_cached(raw)
    return None


def _context_parser(kind: str) -> Callable[[object], object]:
    """Return a function reading one context value as ``kind`` (``_INVALID`` if it cannot)."""

    def wrap(convert: Callable[[object], Any]) -> Callable[[object], object]:
        def parse(raw: object) -> object:
            value = convert(raw)
            return _INVALID if value is None else value

        return parse

    if kind in ("string", "like"):
        return wrap(_scalar_text)
    if kind == "string_ic":
        return wrap(lambda raw: None if (t := _scalar_text(raw)) is None else t.casefold())
    return wrap(
        {
            "numeric": _to_decimal,
            "date": _to_micros,
            "bool": _to_bool,
            "binary": _to_bytes,
            "ip": _to_ip,
        }[kind]
    )


def _policy_value(kind: str, raw: object) -> object:
    """Parse one policy-side value; raise ``ValueError`` with a readable reason."""
    if kind in ("string", "string_ic", "like"):
        text = _scalar_text(raw)
        if text is None:
            raise ValueError(f"expected a string, got {type(raw).__name__}")
        return text.casefold() if kind == "string_ic" else text
    if kind == "numeric":
        number = _to_decimal(raw)
        if number is None:
            raise ValueError(f"{raw!r} is not a number")
        return number
    if kind == "date":
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not a date")
        micros = _to_micros(raw)
        if micros is None:
            raise ValueError(
                f"{raw!r} is not a date (use e.g. '2016-06-01T00:01:00Z' or '2022-05-31 00:00:00')"
            )
        return micros
    if kind in ("bool", "null"):
        flag = _to_bool(raw)
        if flag is None:
            raise ValueError(f"{raw!r} is not 'true' or 'false'")
        return flag
    if kind == "binary":
        data = _to_bytes(raw) if isinstance(raw, str) else None
        if data is None:
            raise ValueError(f"{raw!r} is not base64")
        return data
    if kind == "ip":
        if not isinstance(raw, str):
            raise ValueError(f"expected an IP address or CIDR string, got {type(raw).__name__}")
        try:
            return ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{raw!r} is not an IP address or CIDR block") from None
    raise AssertionError(kind)  # pragma: no cover


def like_pattern_regex(pattern: str) -> re.Pattern[str]:
    """``string_like``: ``*`` is any run of characters, ``?`` exactly one; case-sensitive.

    The piece between two stars is matched at its leftmost place in an atomic group (``a*b*c``
    as ``a(?>.*?b).*c``), so that many stars cannot make a match backtrack exponentially; every
    piece has a fixed length, so leftmost is always right.
    """
    chunks = ["".join("." if c == "?" else re.escape(c) for c in chunk)
              for chunk in pattern.split("*")]
    regex = chunks[0]
    for chunk in chunks[1:-1]:
        regex += f"(?>.*?{chunk})"
    if len(chunks) > 1:
        regex += ".*" + chunks[-1]
    return re.compile(regex, re.DOTALL)


def _build_test(spec: _OperatorSpec, values: tuple[object, ...]) -> Callable[[Any], bool]:
    """The positive test of one parsed context value against all values (OR)."""
    compare = spec.compare
    if compare == "eq":
        members = frozenset(values)
        return members.__contains__
    if compare == "like":
        regexes = tuple(like_pattern_regex(str(v)).fullmatch for v in values)
        return lambda text: any(match(text) is not None for match in regexes)
    if compare == "in_network":
        networks = tuple(values)
        return lambda address: any(address in network for network in networks)
    if compare in ("lt", "le"):
        bound = max(values)  # type: ignore[type-var]
        return (lambda x: x < bound) if compare == "lt" else (lambda x: x <= bound)
    if compare in ("gt", "ge"):
        bound = min(values)  # type: ignore[type-var]
        return (lambda x: x > bound) if compare == "gt" else (lambda x: x >= bound)
    raise AssertionError(compare)  # pragma: no cover


# --- compiled conditions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator: {key: values}`` pair, ready to test."""

    operator: str  # as written, e.g. "for_any_value:ip_equal_if_exist"
    base_operator: str  # e.g. "ip_equal"
    key: str
    raw_values: tuple[str | int | float | bool, ...]
    if_exist: bool = False
    qualifier: str | None = None  # None | "any" | "all"
    has_variables: bool = False
    _parse: Callable[[object], object] = field(repr=False, compare=False, default=_scalar_text)
    _test: Callable[[Any], bool] = field(repr=False, compare=False, default=bool)
    _negated: bool = field(repr=False, compare=False, default=False)
    _expect_null: bool | None = field(repr=False, compare=False, default=None)
    _unsatisfiable: bool = field(repr=False, compare=False, default=False)

    def matches(self, context: Mapping[str, object]) -> bool:
        if self._unsatisfiable:
            return False
        raw = context.get(self.key)
        if isinstance(raw, _MULTI_VALUED) and not raw:
            raw = None
        if self._expect_null is not None:
            return (raw is None) is self._expect_null
        if raw is None:
            return self.if_exist
        if isinstance(raw, _MULTI_VALUED):
            if self.qualifier == "all":
                return all(self._one(item) for item in raw)
            return any(self._one(item) for item in raw)
        return self._one(raw)

    def _one(self, raw: object) -> bool:
        value = self._parse(raw)
        if value is _INVALID:
            return False
        return self._test(value) is not self._negated

    def bind(self, variables: Mapping[str, str | None]) -> Condition:
        """Substitute ``${uin}``-style variables.

        If a variable has no value for this caller (``${app_id}`` without an app id) the whole
        condition is unsatisfiable, for negated operators too.
        """
        if not self.has_variables:
            return self
        bound: list[str | int | float | bool] = []
        for raw in self.raw_values:
            text = str(raw)
            if any(variables.get(name) is None for name in VARIABLE_RE.findall(text)):
                return Condition(
                    self.operator,
                    self.base_operator,
                    self.key,
                    self.raw_values,
                    _unsatisfiable=True,
                )
            bound.append(VARIABLE_RE.sub(lambda m: str(variables[m.group(1)]), text))
        return _make_condition(self.operator, self.key, tuple(bound), allow_variables=False)


@dataclass(frozen=True, slots=True)
class ConditionBlock:
    """All conditions of a statement; every one must hold (AND)."""

    conditions: tuple[Condition, ...]

    @property
    def has_variables(self) -> bool:
        return any(c.has_variables for c in self.conditions)

    def matches(self, context: Mapping[str, object]) -> bool:
        for condition in self.conditions:
            if not condition.matches(context):
                return False
        return True

    def bind(self, variables: Mapping[str, str | None]) -> ConditionBlock:
        if not self.has_variables:
            return self
        return ConditionBlock(tuple(c.bind(variables) for c in self.conditions))


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """``"for_any_value:ip_equal_if_exist"`` -> ``("any", "ip_equal", True)``."""
    qualifier = None
    for prefix, name in _QUALIFIERS.items():
        if operator.startswith(prefix):
            qualifier, operator = name, operator[len(prefix) :]
            break
    if_exist = operator.endswith(_IF_EXIST)
    if if_exist:
        operator = operator[: -len(_IF_EXIST)]
    if operator not in BASE_OPERATORS:
        raise ValueError(operator)
    return qualifier, operator, if_exist


def _make_condition(
    operator: str,
    key: str,
    raw_values: tuple[str | int | float | bool, ...],
    *,
    allow_variables: bool,
) -> Condition:
    qualifier, base, if_exist = split_operator(operator)
    spec = BASE_OPERATORS[base]
    has_variables = False
    parsed: list[object] = []
    for index, raw in enumerate(raw_values):
        if isinstance(raw, str) and "${" in raw:
            names = VARIABLE_RE.findall(raw)
            unknown = [n for n in names if n not in POLICY_VARIABLES]
            if unknown:
                raise ConditionSyntaxError(
                    f"[{index}]", f"unknown policy variable ${{{unknown[0]}}}"
                )
            if names:
                if not allow_variables or spec.kind not in ("string", "string_ic", "like"):
                    raise ConditionSyntaxError(
                        f"[{index}]", "policy variables are only allowed in string operators"
                    )
                has_variables = True
                continue
        try:
            parsed.append(_policy_value(spec.kind, raw))
        except ValueError as exc:
            raise ConditionSyntaxError(f"[{index}]", str(exc)) from None
    if spec.kind == "null":
        return Condition(
            operator, base, key, raw_values, _expect_null=bool(parsed[0]) if parsed else None
        )
    if has_variables:
        # Unbound: never matches until bound to a caller (the evaluator always binds).
        return Condition(
            operator,
            base,
            key,
            raw_values,
            if_exist,
            qualifier,
            has_variables=True,
            _unsatisfiable=True,
        )
    test = _build_test(spec, tuple(parsed))
    return Condition(
        operator,
        base,
        key,
        raw_values,
        if_exist,
        qualifier,
        _parse=_context_parser(spec.kind),
        _test=test,
        _negated=spec.negated,
    )


def compile_conditions(block: object) -> ConditionBlock:
    """Validate and compile a statement's ``condition`` object.

    Raises ``ConditionSyntaxError`` whose ``where`` is relative to the block, e.g.
    ``.ip_equal.qcs:ip[1]``.
    """
    if not isinstance(block, Mapping):
        raise ConditionSyntaxError("", "must be an object of operator -> {key: values}")
    if not block:
        raise ConditionSyntaxError("", "must not be empty (leave 'condition' out instead)")
    conditions: list[Condition] = []
    for operator, keyed in block.items():
        if not isinstance(operator, str):
            raise ConditionSyntaxError("", "condition operators must be strings")
        where = f".{operator}"
        try:
            qualifier, base, if_exist = split_operator(operator)
        except ValueError:
            raise ConditionSyntaxError(where, f"unknown condition operator {operator!r}") from None
        if base == "null_equal" and (if_exist or qualifier):
            raise ConditionSyntaxError(
                where, "null_equal takes neither the _if_exist suffix nor a qualifier"
            )
        if not isinstance(keyed, Mapping) or not keyed:
            raise ConditionSyntaxError(where, "must be a non-empty object of key -> value(s)")
        for key, values in keyed.items():
            key_where = f"{where}.{key}"
            if not isinstance(key, str) or not key.strip():
                raise ConditionSyntaxError(key_where, "condition key must be a non-empty string")
            value_list = values if isinstance(values, list) else [values]
            if not value_list:
                raise ConditionSyntaxError(key_where, "needs at least one value")
            for index, value in enumerate(value_list):
                if not isinstance(value, str | int | float | bool):
                    raise ConditionSyntaxError(
                        f"{key_where}[{index}]", "values must be strings, numbers or booleans"
                    )
            if base == "null_equal" and len(value_list) != 1:
                raise ConditionSyntaxError(key_where, "null_equal takes exactly one value")
            try:
                conditions.append(
                    _make_condition(operator, key, tuple(value_list), allow_variables=True)
                )
            except ConditionSyntaxError as exc:
                raise ConditionSyntaxError(key_where + exc.where, exc.message) from None
    return ConditionBlock(tuple(conditions))
