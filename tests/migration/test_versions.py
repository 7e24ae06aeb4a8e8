import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.errors import InvalidRequest
from migration.versions import INT32_MAX, Version, next_version, parse_version

parts = st.integers(min_value=0, max_value=INT32_MAX)


@given(parts, parts, parts)
def test_valid_versions_round_trip(a: int, b: int, c: int) -> None:
    assert parse_version(f"{a}.{b}.{c}") == Version(a, b, c)
    assert str(Version(a, b, c)) == f"{a}.{b}.{c}"


@pytest.mark.parametrize(
    "text",
    ["1.0", "1.0.0.0", "v1.0.0", "1.0.-1", "01.0.0", "1.0.2147483648", "1. 0.0", "", "1.0.0\n", "\u0661.\u0660.\u0660"],
)
def test_invalid_versions_are_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match="not a valid version"):
        parse_version(text)


def test_leading_zeros_are_read_when_lenient() -> None:
    assert parse_version("01.002.3", lenient=True) == Version(1, 2, 3)


def test_next_version() -> None:
    assert next_version([]) == Version(1, 0, 0)
    assert next_version([], initial="2.0.0") == Version(2, 0, 0)
    assert next_version(["1.0.0", "1.0.9", "1.0.10", "junk", "0.9.99"]) == Version(1, 0, 11)
    assert next_version([f"1.0.{INT32_MAX}"]) == Version(1, 1, 0)


@given(st.lists(st.tuples(parts, parts, st.integers(0, INT32_MAX - 1)), max_size=20))
def test_next_version_is_above_every_existing(existing: list[tuple[int, int, int]]) -> None:
    names = [f"{a}.{b}.{c}" for a, b, c in existing]
    new = next_version(names)
    assert all(new > Version(*e) for e in existing)
    assert str(new) not in names


@given(st.text(max_size=30))
def test_parser_only_raises_invalid_request(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_version(text)
