"""The source managed image as the domain sees it, and the preflight rules it must pass."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from migration.regions import region_key


class OsType(StrEnum):
    WINDOWS = "Windows"
    LINUX = "Linux"


class OsState(StrEnum):
    GENERALIZED = "Generalized"
    SPECIALIZED = "Specialized"


class HyperVGeneration(StrEnum):
    V1 = "V1"
    V2 = "V2"


class Check(BaseModel):
    """One named rule with its outcome; plans, preflight and validation are lists of these."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    reason: str = ""


def check(name: str, passed: bool, reason: str) -> Check:
    """A rule's outcome; ``reason`` says what is wrong, so a passed check carries none."""
    return Check(name=name, passed=passed, reason="" if passed else reason)


class Disk(BaseModel):
    model_config = ConfigDict(frozen=True)

    lun: int | None = None  # None for the OS disk
    size_gb: int | None = None
    source_id: str | None = None  # managed disk, snapshot or blob the image was captured from


class SourceImage(BaseModel):
    """What preflight reads from ARM about a managed image (a snapshot; compared again before deletion)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    location: str
    provisioning_state: str
    os_type: OsType
    os_state: OsState
    hyper_v_generation: HyperVGeneration | None = None  # optional on managed images
    os_disk: Disk
    data_disks: list[Disk] = Field(default_factory=list)
    zone_resilient: bool = False
    encrypted: bool = False  # a disk encrypted with a customer-managed key (a disk encryption set)
    source_vm_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    fingerprint: str = ""

    @property
    def effective_generation(self) -> HyperVGeneration:
        """Managed images without ``hyperVGeneration`` are Generation 1, as Azure treats them."""
        return self.hyper_v_generation or HyperVGeneration.V1


def image_fingerprint(properties: dict[str, object], location: str) -> str:
    """A stable hash of what makes the image the image (location and properties; tags excluded).

    Deletion compares it with the preflight value: if someone modified the image meanwhile, the version we
    built is not a copy of what would be deleted.
    """
    relevant = {k: v for k, v in properties.items() if k not in ("provisioningState",)}
    blob = json.dumps({"location": location.lower(), "properties": relevant}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def preflight_checks(
    source: SourceImage,
    *,
    gallery_location: str | None,
    max_data_disk_gb: int,
    gallery_subscription: str | None = None,
) -> list[Check]:
    """Rules the source must pass before anything is created. ``gallery_location`` None = gallery missing.

    Azure's rules for a version built from a managed image, as documented:

    * region: "The managed image must be in the same region that you chose" for the version (Learn, "Create an
      image definition and an image version", Portal, source table; the version's region is the gallery's), and
      Azure answers otherwise "Source <id> is not found. Please check source exists, and is in the same region as
      gallery image version being created." (Learn, "Troubleshoot shared image galleries");
    * subscription: another subscription of the tenant is fine, except for an encrypted source: "Encrypted source:
      '<id>' is in a different subscription ID than the current gallery image version subscription '<sub>'. Please
      retry with an unencrypted source(s) or use the source's subscription ..." (same page). Images are read with
      RBAC, so the app's identity needs its roles in both subscriptions.
    """
    checks = [
        check(
            name="source-succeeded",
            passed=source.provisioning_state.lower() == "succeeded",
            reason=f"the managed image's provisioning state is {source.provisioning_state}, not Succeeded",
        ),
    ]
    too_big = [d for d in source.data_disks if d.size_gb is not None and d.size_gb > max_data_disk_gb]
    checks.append(
        check(
            name="data-disk-size",
            passed=not too_big,
            reason="data disk(s) larger than the {} GB limit: {}".format(
                max_data_disk_gb, ", ".join(f"LUN {d.lun} ({d.size_gb} GB)" for d in too_big)
            ),
        )
    )
    luns = [d.lun for d in source.data_disks]
    checks.append(
        check(
            name="data-disk-luns",
            passed=len(luns) == len(set(luns)) and all(lun is not None and lun >= 0 for lun in luns),
            reason=f"data disk LUNs must be distinct and non-negative, got {luns}",
        )
    )
    if gallery_location is None:
        checks.append(check(name="gallery-exists", passed=False, reason="the target gallery does not exist"))
    else:
        same = region_key(gallery_location) == region_key(source.location)
        checks.append(
            check(
                name="same-region",
                passed=same,
                reason=(
                    f"the image is in {source.location} but the gallery is in {gallery_location}: Azure builds a "
                    "version in the gallery's region from a managed image in that region only (copy the image first)"
                ),
            )
        )
    source_subscription = source.id.split("/")[2] if source.id.count("/") > 2 else ""
    if gallery_subscription and source_subscription.lower() != gallery_subscription.lower():
        checks.append(
            check(
                name="encrypted-source-subscription",
                passed=not source.encrypted,
                reason=(
                    f"the image is encrypted with a disk encryption set and the gallery is in another subscription "
                    f"({gallery_subscription}): Azure builds a version in another subscription only from unencrypted "
                    "sources; use a gallery in the image's subscription"
                ),
            )
        )
    return checks
