import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.errors import InvalidRequest
from migration.regions import (
    PUBLIC_REGIONS,
    StorageAccountType,
    TargetRegion,
    normalize_region,
    normalize_target_regions,
    parse_regions_tag,
    region_key,
)


def test_region_key_reads_what_azure_answers() -> None:
    """The gallery service answers display names in targetRegions and replication status (recorded traffic)."""
    assert [region_key(n) for n in ("West US 2", "westus2", "West Central US", None)] == [
        "westus2",
        "westus2",
        "westcentralus",
        "",
    ]


def test_normalize_region() -> None:
    assert normalize_region("West US 2") == "westus2"
    assert normalize_region("EASTUS") == "eastus"
    with pytest.raises(InvalidRequest, match="not a known Azure region"):
        normalize_region("westus9")
    with pytest.raises(InvalidRequest, match="not a valid Azure region name"):
        normalize_region("west-us")
    assert normalize_region("usgovvirginia", allowed=["usgovvirginia"]) == "usgovvirginia"


def test_source_region_is_added_first_and_duplicates_merge() -> None:
    regions = normalize_target_regions(
        [TargetRegion(name="East US", replica_count=1), TargetRegion(name="eastus", replica_count=3)],
        source_region="westus2",
        default_replica_count=2,
    )
    assert [(r.name, r.replica_count) for r in regions] == [("westus2", 2), ("eastus", 3)]


def test_source_region_keeps_the_users_settings() -> None:
    regions = normalize_target_regions(
        [TargetRegion(name="eastus"), TargetRegion(name="West US 2", replica_count=4)], source_region="West US 2"
    )
    assert [(r.name, r.replica_count) for r in regions] == [("westus2", 4), ("eastus", 1)]


def test_conflicting_storage_types_for_one_region_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="different storage types"):
        normalize_target_regions(
            [
                TargetRegion(name="eastus", storage_account_type=StorageAccountType.STANDARD_LRS),
                TargetRegion(name="eastus", storage_account_type=StorageAccountType.PREMIUM_LRS),
            ],
            source_region="eastus",
        )


def test_regions_tag() -> None:
    parsed = parse_regions_tag("westus2=2; eastus=1:standard_zrs,northeurope")
    assert [(r.name, r.replica_count, r.storage_account_type) for r in parsed] == [
        ("westus2", 2, None),
        ("eastus", 1, StorageAccountType.STANDARD_ZRS),
        ("northeurope", 1, None),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("westus2=two", "is not a whole number"),
        ("westus2=1_0", "is not a whole number"),  # int() reads 10
        ("westus2=+2", "is not a whole number"),
        ("westus2=\u0662", "is not a whole number"),  # ARABIC-INDIC DIGIT TWO: int() reads 2
        ("westus2=\uff12", "is not a whole number"),  # FULLWIDTH DIGIT TWO
        ("westus2=1;westus2=2", "listed twice"),
        ("westus2=1;West US 2=1", "listed twice"),
        ("\u212aoreacentral=1", "ASCII"),  # KELVIN SIGN: lower() would read koreacentral
        ("westus2=0", "must be 1..100"),
        ("westus2=101", "must be 1..100"),
        ("westus2=1:Ultra_LRS", "not a storage account type"),
        ("mars=1", "not a known Azure region"),
    ],
)
def test_bad_regions_tags(value: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_regions_tag(value)


@given(st.lists(st.tuples(st.sampled_from(sorted(PUBLIC_REGIONS)), st.integers(1, 100)), max_size=8))
def test_normalized_regions_are_unique_and_contain_the_source(items: list[tuple[str, int]]) -> None:
    regions = normalize_target_regions(
        [TargetRegion(name=n, replica_count=c) for n, c in items], source_region="westus2"
    )
    names = [r.name for r in regions]
    assert names[0] == "westus2"
    assert len(names) == len(set(names))
    for name, count in items:
        merged = next(r for r in regions if r.name == name)
        assert merged.replica_count >= count


@given(st.text(max_size=80))
def test_regions_tag_parser_only_raises_invalid_request(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_regions_tag(text)


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=3))
def test_replica_counts_are_ascii_digits_only(digits: str) -> None:
    """Every Unicode decimal digit is a digit to int(); only 0-9 are to the regions tag."""
    try:
        parsed = parse_regions_tag(f"eastus={digits}")
    except InvalidRequest:
        assert not digits.isascii() or not 1 <= int(digits) <= 100
        return
    assert digits.isascii()
    assert parsed[0].replica_count == int(digits)
