"""Strict JSON bodies: sane JSON parses as JSON does; everything else is an InvalidRequest saying why."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.errors import InvalidRequest
from migration.json_input import MAX_DEPTH, loads_strict

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**18), 10**18) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(json_values)
def test_plain_json_parses_exactly_as_json_does(value: Any) -> None:
    text = json.dumps(value)
    assert loads_strict(text.encode()) == json.loads(text)


@given(st.binary(max_size=200))
def test_any_bytes_are_a_value_or_an_invalid_request(raw: bytes) -> None:
    with contextlib.suppress(InvalidRequest):
        loads_strict(raw)


@given(st.text(alphabet='[]{}"\\:,0123456789truefalsn -.eE', max_size=200))
def test_any_json_like_text_is_a_value_or_an_invalid_request(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        loads_strict(text.encode())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "deeper than"),  # json.loads: RecursionError
        (b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, "deeper than"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "deeper than"),
        (b'{"a": 1, "a": 2}', "the key 'a' twice"),  # json.loads: the last one wins
        (b'{"x": {"b": 1, "b": 1}}', "the key 'b' twice"),
        (b'{"a": NaN}', "not a JSON number"),
        (b'{"a": -Infinity}', "not a JSON number"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": ' + b"1" * 5_000 + b"}", "longer than"),  # json.loads: ValueError (int digit limit)
        (b'{"a": "\\ud800"}', "lone UTF-16 surrogate"),  # json.loads accepts it; encoding it later fails
        (b'{"\\udfff": 1}', "lone UTF-16 surrogate"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a UTF-8 byte-order mark
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b"\xff\xfe{\x00}\x00", "not valid UTF-8"),  # UTF-16
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_what_json_loads_gets_wrong_is_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        loads_strict(raw)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"description": "[" * 1000 + '\\"{' * 100})
    assert loads_strict(text.encode())["description"].startswith("[[[")
    assert loads_strict(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) == json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
