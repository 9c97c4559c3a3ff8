"""Parse and validate a CAM policy document into an immutable compiled form.

Syntax (reference: tencent-api-cam.md §2.1):
``{"version": "2.0", "statement": [{"effect": "allow"|"deny", "action": ..., "resource": ...,
"condition": {...}}]}``. Element keywords are lowercase; ``action`` / ``resource`` take a single
string or a list; ``name/`` before an action is the legacy spelling of the same action.

Matching rules compiled here:

- Actions ``service:ActionName``; ``*`` matches any run of characters (``contract:Get*``,
  ``contract:*``, ``*``). Case-sensitive: the reference states no case folding, so a policy must
  spell actions as the API does (``contract:GetContractList``).
- Actions are matched with a small ``*``-only glob (once per caller and action name); resources
  with regexes compiled here, since they are matched on every request. Those regexes match in
  linear time whatever the number of stars (see ``_segment_template``).
- Resources ``qcs:project:service:region:account:resource``. ``*`` inside one of the first five
  segments stays inside that segment; in the resource segment it matches anything, ``/`` and
  ``:`` included (prefix paths). An empty project, service or region segment means "any"; an
  empty account segment means the caller's own root account (``uin/${owner_uin}``). The lone
  resource ``*`` matches every resource.
- Resource patterns may use ``${uin}``, ``${owner_uin}`` and ``${app_id}``; they are bound to a
  caller by the evaluator.

Statement indexes in error messages are 0-based, like JSON paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from iam_svc.policies.conditions import (
    POLICY_VARIABLES,
    VARIABLE_RE,
    ConditionBlock,
    ConditionSyntaxError,
    compile_conditions,
)

POLICY_DOCUMENT_ERROR_CODE: Final = "InvalidParameter.PolicyDocument"
MAX_POLICY_DOCUMENT_CHARS: Final = 6144
"""CAM's limit on a policy document's length (characters of the JSON text)."""

POLICY_VERSION: Final = "2.0"
LEGACY_ACTION_PREFIX: Final = "name/"

Effect = Literal["allow", "deny"]

_TOP_LEVEL_KEYS: Final = frozenset({"version", "statement"})
_STATEMENT_KEYS: Final = frozenset({"effect", "action", "resource", "condition"})
_ACTION_RE: Final = re.compile(r"[a-z0-9_*-]+:[A-Za-z0-9_*]+")
_ACCOUNT_RE: Final = re.compile(r"(?:uin|uid)/[^:\s]+|\*")
_SEGMENT_RE: Final = re.compile(r"[^\s]*")
_NEVER: Final = "(?!)"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# Regex text for a `*` inside one of the first five resource segments, and in the last one.
_STAR_IN_SEGMENT: Final = "[^:]*"
_STAR_IN_RESOURCE: Final = ".*"


class PolicyDocumentError(ValueError):
    """A malformed policy document. ``message`` points at the fault."""

    code: str = POLICY_DOCUMENT_ERROR_CODE

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# A regex template: literal regex text, or the name of a policy variable to substitute.
RegexPart = tuple[bool, str]  # (is_variable, text)


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement: action patterns as globs, resource patterns as a regex (or template)."""

    index: int
    effect: Effect
    actions: tuple[str, ...]  # normalised (legacy ``name/`` removed)
    resources: tuple[str, ...]  # as written
    condition: ConditionBlock | None
    action_globs: tuple[tuple[str, ...], ...] | None  # patterns split at '*'; None: every action
    resource_template: tuple[RegexPart, ...] | None  # None: every resource
    resource_regex: re.Pattern[str] | None = field(default=None, compare=False)
    """Compiled when the resources use no policy variable (else bind per caller)."""

    def matches_action(self, action: str) -> bool:
        if self.action_globs is None:
            return True
        return any(glob_match(chunks, action) for chunks in self.action_globs)

    @property
    def needs_binding(self) -> bool:
        resource_vars = self.resource_template is not None and self.resource_regex is None
        return resource_vars or (self.condition is not None and self.condition.has_variables)

    def bind_resource_regex(self, variables: Mapping[str, str | None]) -> re.Pattern[str] | None:
        """The resource regex for a caller (``None`` means every resource)."""
        if self.resource_template is None:
            return None
        if self.resource_regex is not None:
            return self.resource_regex
        return compile_bound_template(self.resource_template, variables)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A validated policy document. Immutable; share it between callers and threads."""

    policy_id: str
    statements: tuple[CompiledStatement, ...]
    text: str  # the document as JSON text (as given, or compact JSON for a mapping)

    @property
    def document(self) -> dict[str, object]:
        """The document as plain JSON data (a fresh copy)."""
        return json.loads(self.text)


def glob_match(chunks: tuple[str, ...], text: str) -> bool:
    """Match ``text`` against a ``*``-only glob given as ``pattern.split("*")``.

    Used for actions, which are matched once per caller and action name, so that parsing a
    policy compiles no action regex.
    """
    if len(chunks) == 1:
        return text == chunks[0]
    head, tail = chunks[0], chunks[-1]
    end = len(text) - len(tail)
    if end < len(head) or not text.startswith(head) or not text.endswith(tail):
        return False
    position = len(head)
    for chunk in chunks[1:-1]:
        found = text.find(chunk, position, end)
        if found < 0:
            return False
        position = found + len(chunk)
    return True


@lru_cache(maxsize=8192)
def _compile(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)


def compile_bound_template(
    template: tuple[RegexPart, ...], variables: Mapping[str, str | None]
) -> re.Pattern[str]:
    """Substitute policy variables into a regex template and compile it (cached)."""
    pieces = []
    for is_variable, text in template:
        if not is_variable:
            pieces.append(text)
            continue
        value = variables.get(text)
        pieces.append(_NEVER if value is None else re.escape(value))
    return _compile("".join(pieces))


def _literal_parts(text: str) -> list[RegexPart]:
    """Escaped literal text with ``${var}`` kept as substitution points."""
    parts: list[RegexPart] = []
    position = 0
    for match in VARIABLE_RE.finditer(text):
        parts.append((False, re.escape(text[position : match.start()])))
        parts.append((True, match.group(1)))
        position = match.end()
    parts.append((False, re.escape(text[position:])))
    return parts


def _segment_template(segment: str, star: str) -> list[RegexPart]:
    """Regex parts for one resource segment, keeping ``${var}`` as substitution points.

    ``*`` becomes ``star`` (``[^:]*`` or ``.*``) without letting the regex backtrack over the
    stars: every piece between two stars is matched at its leftmost place inside an atomic
    group, ``a*b*c`` as ``a(?>S*?b)S*c``. Leftmost is always right for a ``*``-only glob (it
    leaves the most room for the rest), and a pattern with many stars cannot make one match
    take exponential time: with plain ``.*`` joins, ``*a*a*a*a*a*b`` against a long resource
    backtracked for tens of seconds.
    """
    chunks = segment.split("*")
    parts = _literal_parts(chunks[0])
    for chunk in chunks[1:-1]:
        parts += [(False, f"(?>{star}?"), *_literal_parts(chunk), (False, ")")]
    if len(chunks) > 1:
        parts += [(False, star), *_literal_parts(chunks[-1])]
    return parts


def _resource_template(resource: str, where: str) -> list[RegexPart]:
    segments = resource.split(":", 5)
    if len(segments) != 6 or segments[0] != "qcs":
        raise PolicyDocumentError(
            f"{where} {resource!r} must be '*' or a six-segment "
            "'qcs:project:service:region:account:resource' string"
        )
    _, project, service, region, account, name = segments
    for label, value in (("project", project), ("service", service), ("region", region)):
        if not _SEGMENT_RE.fullmatch(value):
            raise PolicyDocumentError(f"{where} {resource!r}: {label} segment contains whitespace")
    if account and not _ACCOUNT_RE.fullmatch(account):
        raise PolicyDocumentError(
            f"{where} {resource!r}: account segment must be empty, '*', or 'uin/<uin>'"
        )
    if not name:
        raise PolicyDocumentError(f"{where} {resource!r}: resource segment must not be empty")
    for variable in VARIABLE_RE.findall(resource):
        if variable not in POLICY_VARIABLES:
            raise PolicyDocumentError(
                f"{where} {resource!r}: unknown policy variable ${{{variable}}}"
            )

    parts: list[RegexPart] = [(False, "qcs:")]
    for segment in (project, service, region):
        parts += _segment_template(segment, _STAR_IN_SEGMENT) if segment else [(False, "[^:]*")]
        parts.append((False, ":"))
    if account:
        parts += _segment_template(account, _STAR_IN_SEGMENT)
    else:  # empty account: the root account of the policy's owner, i.e. the caller's
        parts += [(False, "uin/"), (True, "owner_uin")]
    parts.append((False, ":"))
    parts += _segment_template(name, _STAR_IN_RESOURCE)
    return parts


def _string_list(value: object, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyDocumentError(f"{where} must not be empty")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            suffix = f"[{index}]" if isinstance(value, list) else ""
            raise PolicyDocumentError(f"{where}{suffix} must be a non-empty string")
    return items


def _compile_actions(
    value: object, where: str
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...] | None]:
    actions = []
    for index, action in enumerate(_string_list(value, where)):
        spot = f"{where}[{index}]" if isinstance(value, list) else where
        if action.startswith(LEGACY_ACTION_PREFIX):
            action = action[len(LEGACY_ACTION_PREFIX) :]
        if action != "*" and not _ACTION_RE.fullmatch(action):
            raise PolicyDocumentError(
                f"{spot} {action!r} must be '*' or 'service:ActionName' "
                "(lowercase service, letters, digits, '_' and '*')"
            )
        actions.append(action)
    if "*" in actions:
        return tuple(actions), None
    return tuple(actions), tuple(tuple(a.split("*")) for a in dict.fromkeys(actions))


def _compile_resources(
    value: object, where: str
) -> tuple[tuple[str, ...], tuple[RegexPart, ...] | None, re.Pattern[str] | None]:
    resources = _string_list(value, where)
    templates = []
    for index, resource in enumerate(resources):
        spot = f"{where}[{index}]" if isinstance(value, list) else where
        if resource == "*":
            continue
        templates.append(_resource_template(resource, spot))
    if len(templates) < len(resources):  # a lone '*' among them: everything
        return tuple(resources), None, None
    template: list[RegexPart] = []
    for number, parts in enumerate(templates):
        template.append((False, "(?:" if number == 0 else ")|(?:"))
        template += parts
    template.append((False, ")"))
    merged = _merge_literals(template)
    has_variables = any(is_variable for is_variable, _ in merged)
    regex = None if has_variables else _compile("".join(text for _, text in merged))
    return tuple(resources), merged, regex


def _merge_literals(parts: list[RegexPart]) -> tuple[RegexPart, ...]:
    merged: list[RegexPart] = []
    for is_variable, text in parts:
        if merged and not is_variable and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + text)
        else:
            merged.append((is_variable, text))
    return tuple(merged)


def _check_keys(obj: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    for key in obj:
        if key in allowed:
            continue
        if not isinstance(key, str):
            raise PolicyDocumentError(f"{where}: element names must be strings")
        if key == "principal":
            raise PolicyDocumentError(
                f"{where}.principal is not allowed in a policy attached to users or groups"
            )
        if key.lower() in allowed:
            raise PolicyDocumentError(f"{where}: element names are lowercase, use {key.lower()!r}")
        raise PolicyDocumentError(f"{where}: unknown element {key!r}")


def _compile_statement(index: int, raw: object) -> CompiledStatement:
    where = f"statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(f"{where} must be an object")
    _check_keys(raw, _STATEMENT_KEYS, where)
    effect = raw.get("effect")
    if effect not in ("allow", "deny"):
        raise PolicyDocumentError(f"{where}.effect must be 'allow' or 'deny'")
    for required in ("action", "resource"):
        if required not in raw:
            raise PolicyDocumentError(f"{where}.{required} is required")
    actions, action_globs = _compile_actions(raw["action"], f"{where}.action")
    resources, template, resource_regex = _compile_resources(raw["resource"], f"{where}.resource")
    condition = None
    if "condition" in raw:
        try:
            condition = compile_conditions(raw["condition"])
        except ConditionSyntaxError as exc:
            raise PolicyDocumentError(f"{where}.condition{exc.where}: {exc.message}") from None
    return CompiledStatement(
        index=index,
        effect=effect,
        actions=actions,
        resources=resources,
        condition=condition,
        action_globs=action_globs,
        resource_template=template,
        resource_regex=resource_regex,
    )


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise PolicyDocumentError(f"duplicate element {key!r} in policy document")
        result[key] = value
    return result


def _load(document: str | bytes | Mapping[str, object]) -> tuple[Mapping[str, object], str]:
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyDocumentError("policy document must be UTF-8 text") from None
    if isinstance(document, Mapping):
        try:
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise PolicyDocumentError(f"policy document is not JSON data: {exc}") from None
        except RecursionError:
            raise PolicyDocumentError("policy document is nested too deeply") from None
        data: object = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    elif isinstance(document, str):
        text = document
    else:
        raise PolicyDocumentError("policy document must be a JSON string or object")
    if len(text) > MAX_POLICY_DOCUMENT_CHARS:
        raise PolicyDocumentError(
            f"policy document is {len(text)} characters; at most {MAX_POLICY_DOCUMENT_CHARS} "
            "are allowed"
        )
    if isinstance(document, str):
        try:
            data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise PolicyDocumentError(
                f"policy document is not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}"
            ) from None
        except RecursionError:
            raise PolicyDocumentError("policy document is nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise PolicyDocumentError(f"policy document is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise PolicyDocumentError("policy document must be a JSON object")
    if _SURROGATE.search(text) or _SURROGATE.search(json.dumps(data, ensure_ascii=False)):
        raise PolicyDocumentError(
            "policy document contains a lone UTF-16 surrogate, which is not a character"
        )
    return data, text


def parse_policy(
    document: str | bytes | Mapping[str, object], *, policy_id: str = ""
) -> CompiledPolicy:
    """Validate a CAM policy document and compile it.

    Raises ``PolicyDocumentError`` (code ``InvalidParameter.PolicyDocument``) naming the fault.
    """
    data, text = _load(document)
    _check_keys(data, _TOP_LEVEL_KEYS, "policy")
    if "version" not in data:
        raise PolicyDocumentError("version is required and must be '2.0'")
    if data["version"] != POLICY_VERSION:
        raise PolicyDocumentError(f"version must be '2.0', got {data['version']!r}")
    statements = data.get("statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyDocumentError("statement must be a non-empty list of statements")
    compiled = tuple(_compile_statement(i, raw) for i, raw in enumerate(statements))
    return CompiledPolicy(policy_id=policy_id, statements=compiled, text=text)


def validate_policy_document(document: str | bytes | Mapping[str, object]) -> None:
    """Raise ``PolicyDocumentError`` if the document is not a valid CAM policy."""
    parse_policy(document)
