"""Read ARM JSON (as the REST API returns it, and as the SDK models' ``as_dict()`` give it) into domain facts.

Pure functions over dicts: tested against the official x-ms-examples, so the shapes we rely on are the
documented ones, not whatever the emulator happens to return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration.definitions import DefinitionFacts
from migration.plan import VersionFacts
from migration.regions import region_key
from migration.replication import RegionReplication, ReplicationSnapshot
from migration.request import PurchasePlan
from migration.source import Disk, SourceImage, image_fingerprint


def _get(data: Mapping[str, Any] | None, *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _source_of(disk: Mapping[str, Any]) -> str | None:
    for key in ("managedDisk", "snapshot"):
        ref = _get(disk, key, "id")
        if ref:
            return str(ref)
    blob = disk.get("blobUri")
    return str(blob) if blob else None


def source_image(image: Mapping[str, Any]) -> SourceImage:
    """A managed image (``Microsoft.Compute/images``) as a :class:`SourceImage`."""
    props = image.get("properties") or {}
    storage = props.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    return SourceImage(
        id=str(image.get("id", "")),
        name=str(image.get("name", "")),
        location=str(image.get("location", "")),
        provisioning_state=str(props.get("provisioningState") or "Succeeded"),
        os_type=os_disk.get("osType"),
        os_state=os_disk.get("osState"),
        hyper_v_generation=props.get("hyperVGeneration"),
        os_disk=Disk(size_gb=os_disk.get("diskSizeGB"), source_id=_source_of(os_disk)),
        data_disks=[
            Disk(lun=d.get("lun"), size_gb=d.get("diskSizeGB"), source_id=_source_of(d))
            for d in storage.get("dataDisks") or []
        ],
        zone_resilient=bool(storage.get("zoneResilient")),
        encrypted=any(_get(disk, "diskEncryptionSet", "id") for disk in [os_disk, *(storage.get("dataDisks") or [])]),
        source_vm_id=_get(props, "sourceVirtualMachine", "id"),
        tags=dict(image.get("tags") or {}),
        fingerprint=image_fingerprint(dict(props), str(image.get("location", ""))),
    )


def definition_facts(definition: Mapping[str, Any]) -> DefinitionFacts:
    props = definition.get("properties") or {}
    features = {str(f.get("name")): str(f.get("value")) for f in props.get("features") or [] if f.get("name")}
    plan = props.get("purchasePlan")
    return DefinitionFacts(
        id=str(definition.get("id", "")),
        os_type=props.get("osType"),
        os_state=props.get("osState"),
        hyper_v_generation=props.get("hyperVGeneration"),
        architecture=props.get("architecture"),
        security_type=features.get("SecurityType"),
        publisher=str(_get(props, "identifier", "publisher") or ""),
        offer=str(_get(props, "identifier", "offer") or ""),
        sku=str(_get(props, "identifier", "sku") or ""),
        purchase_plan=PurchasePlan.model_validate(plan) if plan and all(plan.get(k) for k in plan) else None,
        provisioning_state=str(props.get("provisioningState") or "Succeeded"),
        features=features,
    )


def version_facts(version: Mapping[str, Any]) -> VersionFacts:
    props = version.get("properties") or {}
    publishing = props.get("publishingProfile") or {}
    storage = props.get("storageProfile") or {}
    os_image = storage.get("osDiskImage")
    return VersionFacts(
        id=str(version.get("id", "")),
        name=str(version.get("name", "")),
        source_id=_get(storage, "source", "id") or _get(storage, "source", "virtualMachineId"),
        provisioning_state=str(props.get("provisioningState") or "Succeeded"),
        exclude_from_latest=bool(publishing.get("excludeFromLatest")),
        replication_mode=str(publishing.get("replicationMode") or "Full"),
        storage_account_type=publishing.get("storageAccountType"),
        target_regions=[region_key(r.get("name")) for r in publishing.get("targetRegions") or []],
        os_disk=Disk(size_gb=os_image.get("sizeInGB")) if isinstance(os_image, Mapping) else None,
        data_disks=[Disk(lun=d.get("lun"), size_gb=d.get("sizeInGB")) for d in storage.get("dataDiskImages") or []],
        tags=dict(version.get("tags") or {}),
        end_of_life=_date_text(publishing.get("endOfLifeDate")),
        allow_deletion_of_replicated_locations=bool(_get(props, "safetyProfile", "allowDeletionOfReplicatedLocations")),
        block_deletion_before_end_of_life=bool(_get(props, "safetyProfile", "blockDeletionBeforeEndOfLife")),
    )


def _date_text(value: Any) -> str | None:
    """A date-time as ISO text: the REST JSON has a string, the SDK's ``as_dict()`` a ``datetime``."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def replication_snapshot(version: Mapping[str, Any]) -> ReplicationSnapshot:
    """From ``GET version?$expand=ReplicationStatus``; region names normalized (``West US 2`` -> ``westus2``)."""
    props = version.get("properties") or {}
    status = props.get("replicationStatus") or {}
    return ReplicationSnapshot(
        version_id=str(version.get("id", "")),
        provisioning_state=str(props.get("provisioningState") or "Unknown"),
        aggregated_state=str(status.get("aggregatedState") or "Unknown"),
        regions=[
            RegionReplication(
                region=region_key(s.get("region")),
                state=str(s.get("state") or "Unknown"),
                progress=int(s.get("progress") or 0),
                details=str(s.get("details") or ""),
            )
            for s in status.get("summary") or []
        ],
    )


def scale_set_image_reference(scale_set: Mapping[str, Any]) -> str | None:
    """The image a scale set's model is built from (``...storageProfile.imageReference.id``)."""
    ref = _get(scale_set, "properties", "virtualMachineProfile", "storageProfile", "imageReference", "id")
    return str(ref) if ref else None
