"""Strict JSON for request bodies: one parser that either returns a sane JSON value or says exactly what is wrong.

``json.loads`` alone is too forgiving and too fragile for input from outside: it takes duplicate keys (the last
one wins, silently), ``NaN``/``Infinity`` (not JSON), lone UTF-16 surrogates (which later fail to encode), and it
raises ``RecursionError`` on deep nesting or ``ValueError`` on integers longer than Python's digit limit. Here
every one of those is an :class:`InvalidRequest` naming the problem, whatever the depth, size or shape.
"""

from __future__ import annotations

import json
from typing import Any

from migration.errors import InvalidRequest

MAX_DEPTH = 32  # our bodies nest 4 levels; anything deeper is not a request
MAX_NUMBER_CHARS = 64  # no field of ours needs a longer number


class _Duplicate(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Duplicate(key)
        found[key] = value
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise ValueError(f"a number longer than {MAX_NUMBER_CHARS} characters")
        value = kind(text)
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise ValueError(f"the number {text[:32]} is out of range")
        return value

    return parse


def loads_strict(raw: bytes) -> Any:
    """Parse UTF-8 JSON text; raise :class:`InvalidRequest` for anything that is not plain, sane JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    if _depth_exceeds(text, MAX_DEPTH):
        raise InvalidRequest(f"the request body nests objects or arrays deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_number(int),
            parse_float=_number(float),
        )
    except _Duplicate as exc:
        raise InvalidRequest(f"the request body has the key {str(exc)[:64]!r} twice in one object") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {str(exc)[:120]}") from None
    _refuse_lone_surrogates(value)
    return value


def _depth_exceeds(text: str, limit: int) -> bool:
    """Does any bracket nest deeper than ``limit``? (Brackets inside strings do not count.) Linear, no recursion,
    so a 10,000-level body is refused before the parser sees it."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_lone_surrogates(value: Any) -> None:
    """``"\\ud800"`` parses to a str that cannot be encoded: refuse it here, not in an ARM call later."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidRequest("the request body has a string with a lone UTF-16 surrogate") from None
