"""ARM's name comparison (ordinal, ignoring case per UTF-16 unit with simple mappings), not Python's lower()."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.instance_ids import migration_instance_id
from migration.names import arm_key, simple_upper
from migration.resource_ids import ImageId, same_id
from tests.migration.factories import SUB


def image(group: str, name: str = "web") -> ImageId:
    return ImageId.parse(f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/images/{name}")


# (one name, another): ARM treats them as different names, Python's lower() or upper() as the same.
DIFFERENT_TO_ARM = [
    ("\u212aitchen", "kitchen"),  # KELVIN SIGN: lower() is "k"; its simple upper is itself
    ("\u212bngstrom", "\u00e5ngstrom"),  # ANGSTROM SIGN: lower() is U+00E5
    ("\u0131ndia", "india"),  # dotless i: .NET does not map it to ASCII I
    ("\u017fales", "sales"),  # long s: .NET does not map it to ASCII S
    ("stra\u00dfe", "strasse"),  # sharp s: upper() is "SS", the simple mapping keeps it
    ("\u03a9hm", "\u2126hm"),  # GREEK OMEGA and OHM SIGN: lower() folds both to U+03C9
]
# ARM treats these as the same name.
SAME_TO_ARM = [
    ("Kitchen", "KITCHEN"),
    ("gr\u00fcn", "GR\u00dcN"),  # u with diaeresis
    ("\u0434\u0435\u0432", "\u0414\u0415\u0412"),  # Cyrillic
    ("\u03c3\u03b9\u03c3", "\u03a3\u0399\u03a3"),  # Greek sigma
    ("\u00b5s", "\u039cS"),  # MICRO SIGN upper-cases to GREEK CAPITAL MU (.NET's Latin-1 table)
    ("\u1f80", "\u1f88"),  # ypogegrammeni: full upper is two characters, the simple one is U+1F88
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT_TO_ARM)
def test_names_arm_tells_apart_get_different_keys_and_instance_ids(one: str, other: str) -> None:
    assert arm_key(one) != arm_key(other)
    assert image(one) != image(other)
    assert not same_id(str(image(one)), str(image(other)))
    assert migration_instance_id(image(one)) != migration_instance_id(image(other))


@pytest.mark.parametrize(("one", "other"), SAME_TO_ARM)
def test_names_arm_treats_as_one_get_one_key_and_one_instance_id(one: str, other: str) -> None:
    assert arm_key(one) == arm_key(other)
    assert image(one) == image(other)
    assert migration_instance_id(image(one)) == migration_instance_id(image(other))


def test_ascii_keys_are_the_lower_case_they_always_were() -> None:
    assert arm_key("/Subscriptions/X/resourceGroups/RG-Images") == "/subscriptions/x/resourcegroups/rg-images"


@given(st.text(max_size=40))
def test_the_key_is_a_case_insensitive_equivalence(text: str) -> None:
    """One character in, one out (no length changes), idempotent, and blind to ARM's upper-casing."""
    key = arm_key(text)
    assert len(key) == len(text)
    assert arm_key(key) == key
    assert arm_key("".join(simple_upper(c) for c in text)) == key


@given(st.characters(codec="utf-8"))
def test_no_other_character_folds_onto_ascii(char: str) -> None:
    """Only ASCII letters fold to ASCII: a non-ASCII resource-group name never collides with an ASCII one."""
    if not char.isascii():
        assert not arm_key(char).isascii()
