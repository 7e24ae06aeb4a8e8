"""A small evaluator for ARM template expressions (``"[func(...)]"``), enough to read values out of the template.

It covers the functions ``infra/azuredeploy.json`` uses where tests read values (parameters, variables with
``copy``, string/array/logic functions, ``subscription()``/``resourceGroup()``/``environment()``, ``resourceId``,
``guid``). Functions that need a live deployment (``reference``, ``uniqueString``, ``list*``) raise
:class:`ExpressionError`, so a test never reads a made-up value. Semantics follow the ARM template function
reference: ``string(true)`` is ``"True"``, string comparisons in ``equals`` are case-sensitive, a ``"[["`` prefix
escapes a literal ``[``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The namespace ARM's guid() hashes into (UUID v5 over the arguments joined with '-'), as Bicep documents.
GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
CLOUD_NAMES = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()\[\],.]))"
)


class ExpressionError(ValueError):
    """An expression that cannot be evaluated offline (or is malformed)."""


def is_expression(value: object) -> bool:
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[") and value.endswith("]")


@dataclass
class Context:
    """What an expression can see: the template's parameters and variables, and the deployment scope."""

    template: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "rg-image-migration"
    location: str = "westus2"
    cloud: str = "AzureCloud"
    copy_indexes: dict[str, int] = field(default_factory=dict)
    _variables: dict[str, Any] = field(default_factory=dict)

    def parameter(self, name: str) -> Any:
        declared = self.template.get("parameters", {})
        if name not in declared:
            raise ExpressionError(f"parameter {name!r} is not declared")
        if name in self.parameters:
            return self.parameters[name]
        if "defaultValue" not in declared[name]:
            raise ExpressionError(f"parameter {name!r} has no value and no default")
        return evaluate(declared[name]["defaultValue"], self)

    def variable(self, name: str) -> Any:
        if name not in self._variables:
            self._variables[name] = self._compute_variable(name)
        return self._variables[name]

    def _compute_variable(self, name: str) -> Any:
        declared = self.template.get("variables", {})
        for loop in declared.get("copy", []):
            if loop["name"] == name:
                count = evaluate(loop["count"], self)
                return [evaluate(loop["input"], self.with_copy_index(name, i)) for i in range(count)]
        if name == "copy" or name not in declared:
            raise ExpressionError(f"variable {name!r} is not declared")
        return evaluate(declared[name], self)

    def with_copy_index(self, loop: str, index: int) -> Context:
        return Context(
            self.template,
            self.parameters,
            self.subscription_id,
            self.resource_group,
            self.location,
            self.cloud,
            {**self.copy_indexes, loop: index, "": index},
            self._variables,
        )


def evaluate(value: Any, context: Context) -> Any:
    """Evaluate every expression inside a JSON value (object keys included)."""
    if isinstance(value, dict):
        return {evaluate(k, context): evaluate(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, context) for v in value]
    if isinstance(value, str):
        if value.startswith("[["):
            return value[1:]
        if is_expression(value):
            return _Parser(value[1:-1], context).parse()
    return value


class _Parser:
    """Recursive descent over ``call(args)``, literals, ``.member`` and ``[index]``, evaluating as it goes."""

    def __init__(self, text: str, context: Context) -> None:
        self.text, self.context = text, context
        self.tokens = self._tokenize(text)
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise ExpressionError(f"cannot parse {text!r} at {pos}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def parse(self) -> Any:
        result = self._expression()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"unexpected end of {self.text!r}")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r} in {self.text!r}")
        self.pos += 1
        return token

    def _expression(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "number":
            value = int(text)
        elif kind == "name":
            self._take("(")
            args = []
            while self._peek() != ")":
                args.append(self._expression())
                if self._peek() != ")":
                    self._take(",")
            self._take(")")
            value = call(text, args, self.context)
        else:
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                value = _member(value, self._take()[1])
            else:
                index = self._expression()
                self._take("]")
                value = _member(value, index)
        return value


def _member(value: Any, key: Any) -> Any:
    try:
        if isinstance(value, dict) and isinstance(key, str):
            matches = [k for k in value if k.lower() == key.lower()]  # ARM property access ignores case
            return value[matches[0]]
        return value[key]
    except (IndexError, KeyError, TypeError):
        raise ExpressionError(f"{key!r} is not in {json.dumps(value)[:200]}") from None


def arm_string(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: arm_string(args[int(m.group(1))]), template)


def _concat(*args: Any) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]
    return "".join(arm_string(a) for a in args)


def _union(*args: Any) -> Any:
    if all(isinstance(a, dict) for a in args):
        merged: dict[str, Any] = {}
        for a in args:
            merged.update(a)
        return merged
    out: list[Any] = []
    for a in args:
        out.extend(item for item in a if item not in out)
    return out


def _resource_id(context: Context, *args: str) -> str:
    """``resourceId([subscriptionId], [resourceGroupName], type, name1, name2, ...)``."""
    for i, arg in enumerate(args):
        if "/" in arg and "." in arg.split("/")[0]:  # the first argument that is a resource type
            sub_and_group, rtype, names = args[:i], arg, args[i + 1 :]
            break
    else:
        raise ExpressionError(f"resourceId{args!r} has no resource type")
    subscription = sub_and_group[0] if len(sub_and_group) == 2 else context.subscription_id
    group = sub_and_group[-1] if sub_and_group else context.resource_group
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{_type_path(rtype, names)}"


def _subscription_resource_id(context: Context, *args: str) -> str:
    subscription, rest = (args[0], args[1:]) if "/" not in args[0] else (context.subscription_id, args)
    return f"/subscriptions/{subscription}/providers/{_type_path(rest[0], rest[1:])}"


def _type_path(rtype: str, names: tuple[str, ...]) -> str:
    namespace, *types = rtype.split("/")
    if len(types) != len(names):
        raise ExpressionError(f"{rtype} needs {len(types)} names, got {len(names)}")
    return namespace + "".join(f"/{t}/{n}" for t, n in zip(types, names, strict=True))


def _copy_index(context: Context, *args: Any) -> int:
    offset = next((a for a in args if isinstance(a, int)), 0)
    loop = next((a for a in args if isinstance(a, str)), "")
    if loop not in context.copy_indexes:
        raise ExpressionError(f"copyIndex({loop!r}) outside its copy loop")
    return context.copy_indexes[loop] + offset


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "format": _format,
    "string": arm_string,
    "tolower": lambda s: s.lower(),
    "toupper": lambda s: s.upper(),
    "split": lambda s, sep: s.split(sep),
    "replace": lambda s, old, new: s.replace(old, new),
    "length": len,
    "empty": lambda v: v is None or len(v) == 0,
    "contains": lambda container, item: item in container,
    "createarray": lambda *items: list(items),
    "createobject": lambda *kv: {kv[i]: kv[i + 1] for i in range(0, len(kv), 2)},
    "union": _union,
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "equals": lambda a, b: a == b,
    "not": lambda a: not a,
    "and": lambda *a: all(a),
    "or": lambda *a: any(a),
    "if": lambda cond, yes, no: yes if cond else no,
    "int": int,
    "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "true": lambda: True,
    "false": lambda: False,
    "null": lambda: None,
    "guid": lambda *parts: str(uuid.uuid5(GUID_NAMESPACE, "-".join(parts))),  # deterministic, like ARM's
}
_CONTEXT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "parameters": lambda c, name: c.parameter(name),
    "variables": lambda c, name: c.variable(name),
    "copyindex": _copy_index,
    "resourceid": _resource_id,
    "subscriptionresourceid": _subscription_resource_id,
    "subscription": lambda c: {
        "id": f"/subscriptions/{c.subscription_id}",
        "subscriptionId": c.subscription_id,
        "tenantId": "00000000-0000-0000-0000-0000000000aa",
        "displayName": "offline",
    },
    "resourcegroup": lambda c: {
        "id": f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}",
        "name": c.resource_group,
        "location": c.location,
    },
    "environment": lambda c: {"name": c.cloud},
}


def call(name: str, args: list[Any], context: Context) -> Any:
    key = name.lower()  # ARM function names are case-insensitive
    if key in _CONTEXT_FUNCTIONS:
        return _CONTEXT_FUNCTIONS[key](context, *args)
    if key in _FUNCTIONS:
        return _FUNCTIONS[key](*args)
    raise ExpressionError(f"{name}() cannot be evaluated offline")
