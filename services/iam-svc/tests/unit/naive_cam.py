"""A deliberately naive CAM evaluator, the oracle for differential tests.

Written apart from ``iam_svc.policies``: it re-reads the raw JSON documents on every call,
matches wildcards with a recursive glob (no regexes), and spells each condition operator out.
It assumes the documents are valid (the production parser checks that).
"""

from __future__ import annotations

import base64
import ipaddress
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def glob(pattern: str, text: str, *, question_mark: bool = False) -> bool:
    """``*`` = any run of characters; ``?`` = one character when ``question_mark``."""
    if not pattern:
        return not text
    head = pattern[0]
    if head == "*":
        return any(
            glob(pattern[1:], text[i:], question_mark=question_mark) for i in range(len(text) + 1)
        )
    if not text:
        return False
    if head == text[0] or (question_mark and head == "?"):
        return glob(pattern[1:], text[1:], question_mark=question_mark)
    return False


def substitute(pattern: str, variables: dict[str, str | None]) -> str | None:
    """Replace ``${name}``; ``None`` when a variable has no value."""
    out = pattern
    for name, value in variables.items():
        token = "${" + name + "}"
        if token in out:
            if value is None:
                return None
            out = out.replace(token, value)
    return out


def action_matches(pattern: str, action: str) -> bool:
    if pattern.startswith("name/"):
        pattern = pattern[5:]
    return glob(pattern, action)


def resource_matches(pattern: str, resource: str, variables: dict[str, str | None]) -> bool:
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    resource_parts = resource.split(":", 5)
    if len(resource_parts) != 6:
        return False
    for index in range(6):
        want = pattern_parts[index]
        have = resource_parts[index]
        if index == 4 and want == "":
            want = "uin/${owner_uin}"
        if index in (1, 2, 3) and want == "":
            continue
        bound = substitute(want, variables)
        if bound is None or not glob(bound, have):
            return False
    return True


# --- conditions ----------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if isinstance(value, int) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if isinstance(value, (list, dict, bytes)) or not number.is_finite():
        return None
    return number


def as_time(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if not text or not text[0].isdigit():
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_ip(value: Any):
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def as_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return None
    return None


def positive_test(base: str, have: Any, wants: list[Any]) -> bool | None:
    """Does one context value satisfy the positive form of ``base`` for any want?

    ``None`` when the context value has the wrong type.
    """
    if base.startswith("string_") and "like" in base:
        text = as_text(have)
        if text is None:
            return None
        return any(glob(as_text(w), text, question_mark=True) for w in wants)
    if base.startswith("string_"):
        text = as_text(have)
        if text is None:
            return None
        if "ignore_case" in base:
            return any(text.casefold() == as_text(w).casefold() for w in wants)
        return any(text == as_text(w) for w in wants)
    if base.startswith("numeric_") or base.startswith("date_"):
        convert = as_number if base.startswith("numeric_") else as_time
        left = convert(have)
        if left is None:
            return None
        for want in wants:
            right = convert(want)
            if base.endswith("_not_equal") or (base.endswith("_equal") and "than" not in base):
                hit = left == right
            elif base.endswith("_less_than"):
                hit = left < right
            elif base.endswith("_less_than_equal"):
                hit = left <= right
            elif base.endswith("_greater_than"):
                hit = left > right
            elif base.endswith("_greater_than_equal"):
                hit = left >= right
            else:
                raise AssertionError(base)
            if hit:
                return True
        return False
    if base == "bool_equal":
        flag = as_bool(have)
        return None if flag is None else any(flag == as_bool(w) for w in wants)
    if base == "binary_equal":
        data = as_bytes(have)
        return None if data is None else any(data == as_bytes(w) for w in wants)
    if base in ("ip_equal", "ip_not_equal"):
        address = as_ip(have)
        if address is None:
            return None
        for want in wants:
            network = ipaddress.ip_network(want.strip(), strict=False)
            if address.version == network.version and address in network:
                return True
        return False
    raise AssertionError(base)


def one_value(base: str, have: Any, wants: list[Any]) -> bool:
    result = positive_test(base, have, wants)
    if result is None:
        return False
    negated = (
        base.endswith("_not_equal")
        or base.endswith("_not_like")
        or base.endswith("_not_equal_ignore_case")
    )
    return not result if negated else result


def condition_holds(
    operator: str, key: str, wants: Any, context: dict[str, Any], variables: dict[str, str | None]
) -> bool:
    qualifier = None
    if operator.startswith("for_any_value:"):
        qualifier, operator = "any", operator[len("for_any_value:") :]
    elif operator.startswith("for_all_value:"):
        qualifier, operator = "all", operator[len("for_all_value:") :]
    if_exist = operator.endswith("_if_exist")
    base = operator[: -len("_if_exist")] if if_exist else operator
    wants = wants if isinstance(wants, list) else [wants]
    have = context.get(key)
    if isinstance(have, (list, tuple, set, frozenset)) and len(have) == 0:
        have = None
    if base == "null_equal":
        return (have is None) == as_bool(wants[0])
    bound_wants = []
    for want in wants:
        if isinstance(want, str):
            want = substitute(want, variables)
            if want is None:
                return False
        bound_wants.append(want)
    if have is None:
        return if_exist
    if isinstance(have, (list, tuple, set, frozenset)):
        results = [one_value(base, item, bound_wants) for item in have]
        return all(results) if qualifier == "all" else any(results)
    return one_value(base, have, bound_wants)


# --- decisions -----------------------------------------------------------------------------


def naive_decide(
    owner_uin: str,
    sub_uin: str | None,
    documents: list[Any],
    action: str,
    resource: str,
    context: dict[str, Any] | None = None,
    app_id: str | None = None,
) -> tuple[bool, str]:
    """Return ``(allowed, reason)`` with the same reason names as the production evaluator."""
    context = context or {}
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "qcs" or parts[5] == "":
        return False, "invalid_resource"
    if parts[4] != "uin/" + owner_uin:
        return False, "cross_account"
    if sub_uin is None:
        return True, "root_account"
    variables = {"uin": sub_uin, "owner_uin": owner_uin, "app_id": app_id}
    allowed = False
    for document in documents:
        if isinstance(document, str):
            document = json.loads(document)
        for statement in document["statement"]:
            actions = statement["action"]
            actions = actions if isinstance(actions, list) else [actions]
            resources = statement["resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if not any(action_matches(a, action) for a in actions):
                continue
            if not any(resource_matches(r, resource, variables) for r in resources):
                continue
            conditions = statement.get("condition", {})
            if not all(
                condition_holds(op, key, wants, context, variables)
                for op, keyed in conditions.items()
                for key, wants in keyed.items()
            ):
                continue
            if statement["effect"] == "deny":
                return False, "explicit_deny"
            allowed = True
    return (True, "explicit_allow") if allowed else (False, "no_matching_allow")
