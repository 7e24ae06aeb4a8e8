"""Azure regions and target-region lists for an image version.

Region names are normalized the way ARM does (``"West US 2"`` -> ``westus2``) and checked against the public
Azure regions below, so a typo fails before anything is created. Sovereign clouds or regions newer than this
list are allowed through the ``ALLOWED_REGIONS`` setting, which replaces the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from migration.errors import InvalidRequest

PUBLIC_REGIONS: frozenset[str] = frozenset(
    """
    australiacentral australiacentral2 australiaeast australiasoutheast austriaeast belgiumcentral brazilsouth
    brazilsoutheast canadacentral canadaeast centralindia centralus centraluseuap chilecentral eastasia eastus
    eastus2 eastus2euap francecentral francesouth germanynorth germanywestcentral indonesiacentral israelcentral
    italynorth japaneast japanwest jioindiacentral jioindiawest koreacentral koreasouth malaysiawest
    mexicocentral newzealandnorth northcentralus northeurope norwayeast norwaywest polandcentral qatarcentral
    southafricanorth southafricawest southcentralus southeastasia southindia spaincentral swedencentral
    swedensouth switzerlandnorth switzerlandwest uaecentral uaenorth uksouth ukwest westcentralus westeurope
    westindia westus westus2 westus3
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_REGION_RE = re.compile(r"^[a-z][a-z0-9]{2,39}$", re.ASCII)
MAX_REPLICAS_PER_REGION = 100


class StorageAccountType(StrEnum):
    """Storage for a version's replicas (the gallery's own enum, not the managed disk one)."""

    STANDARD_LRS = "Standard_LRS"
    STANDARD_ZRS = "Standard_ZRS"
    PREMIUM_LRS = "Premium_LRS"


class TargetRegion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str
    replica_count: StrictInt = Field(default=1, ge=1, le=MAX_REPLICAS_PER_REGION, alias="replicaCount")
    storage_account_type: StorageAccountType | None = Field(default=None, alias="storageAccountType")


def region_key(name: object) -> str:
    """How a region ARM answered with compares: Azure's gallery service names target and replication regions by
    display name (``"West US 2"``), resources by name (``westus2``); both give ``westus2``. No validation: this
    reads what Azure said."""
    return str(name or "").replace(" ", "").lower()


def normalize_region(name: object, *, allowed: Iterable[str] | None = None) -> str:
    """``"West US 2"`` -> ``"westus2"``; refuse names that are not Azure regions."""
    if not isinstance(name, str):
        raise InvalidRequest(f"a region must be a string, got {type(name).__name__}")
    if not name.isascii():  # lower() would turn e.g. U+212A KELVIN SIGN into "k"
        raise InvalidRequest(f"'{name[:64]}' is not a valid Azure region name (ASCII letters and digits only)")
    normalized = region_key(name)
    if not _REGION_RE.fullmatch(normalized):
        raise InvalidRequest(f"'{name[:64]}' is not a valid Azure region name")
    known = frozenset(region_key(a) for a in allowed) if allowed else PUBLIC_REGIONS
    if normalized not in known:
        raise InvalidRequest(f"'{name[:64]}' is not a known Azure region")
    return normalized


def normalize_target_regions(
    regions: Iterable[TargetRegion],
    *,
    source_region: str,
    default_replica_count: int = 1,
    allowed: Iterable[str] | None = None,
) -> list[TargetRegion]:
    """Normalize names, merge duplicates (highest replica count wins) and make sure the source region is in.

    The source region comes first, as Azure builds the version there before replicating elsewhere; the rest
    keep the order the user gave.
    """
    allowed_list = list(allowed) if allowed else None
    merged: dict[str, TargetRegion] = {}
    for region in regions:
        name = normalize_region(region.name, allowed=allowed_list)
        previous = merged.get(name)
        if previous is None:
            merged[name] = region.model_copy(update={"name": name})
            continue
        if (
            previous.storage_account_type
            and region.storage_account_type
            and previous.storage_account_type != region.storage_account_type
        ):
            raise InvalidRequest(
                f"region '{name}' is listed twice with different storage types "
                f"({previous.storage_account_type}, {region.storage_account_type})"
            )
        merged[name] = previous.model_copy(
            update={
                "replica_count": max(previous.replica_count, region.replica_count),
                "storage_account_type": previous.storage_account_type or region.storage_account_type,
            }
        )
    source = normalize_region(source_region, allowed=allowed_list)
    if source not in merged:
        merged[source] = TargetRegion(name=source, replica_count=default_replica_count)
    return [merged[source], *(r for n, r in merged.items() if n != source)]


_COUNT_RE = re.compile(r"[0-9]{1,3}", re.ASCII)  # int() would also take "1_0", "+2", " 2" and "\u0662"


def parse_regions_tag(value: str, *, allowed: Iterable[str] | None = None) -> list[TargetRegion]:
    """Parse the ``migrate-regions`` tag: ``westus2=2;eastus=1`` or ``eastus=1:Standard_ZRS`` or ``eastus``.

    Replica counts are ASCII digits only, and a region may appear once."""
    regions: list[TargetRegion] = []
    for item in re.split(r"[;,]", value):
        item = item.strip()
        if not item:
            continue
        name, _, spec = item.partition("=")
        count_text, _, storage = spec.partition(":")
        count_text = count_text.strip()
        if count_text and not _COUNT_RE.fullmatch(count_text):
            raise InvalidRequest(
                f"replica count '{count_text[:16]}' for region '{name[:64]}' is not a whole number (digits 0-9)"
            )
        count = int(count_text) if count_text else 1
        if not 1 <= count <= MAX_REPLICAS_PER_REGION:
            raise InvalidRequest(f"replica count for region '{name[:64]}' must be 1..{MAX_REPLICAS_PER_REGION}")
        storage_type = parse_storage_account_type(storage) if storage.strip() else None
        region = normalize_region(name.strip(), allowed=allowed)
        if any(r.name == region for r in regions):
            raise InvalidRequest(f"region '{region}' is listed twice")
        regions.append(TargetRegion(name=region, replica_count=count, storage_account_type=storage_type))
    if not regions:
        raise InvalidRequest("the regions tag is empty; use e.g. 'westus2=2;eastus=1'")
    return regions


def parse_storage_account_type(value: object) -> StorageAccountType:
    """A tag's storage type, case-insensitive (ASCII only: no Unicode case folding)."""
    text = str(value).strip()
    for member in StorageAccountType:
        if text.isascii() and member.value.lower() == text.lower():
            return member
    allowed = ", ".join(m.value for m in StorageAccountType)
    raise InvalidRequest(f"'{text[:32]}' is not a storage account type; use one of {allowed}")
