"""Managed images (operationIds Images_*). A managed image is the source a gallery image version copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from emulator.compute import validation as v
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.ids import ResourceId, parse, region

ROOT = "parameters"
IMAGE_TYPE = "Microsoft.Compute/images"
MAX_OS_DISK_GIB = 1023  # spec: "cannot be larger than 1023 GB"
MAX_DATA_DISK_GIB = 32767


class ImagesBackend:
    def __init__(self, ctx: Context, on_source_changed: Callable[[str, str], None]):
        self.ctx = ctx
        self._on_source_changed = on_source_changed  # lets in-flight Full replications fail

    def get_image(self, image_id: str) -> dict[str, Any]:
        return self.ctx.require(image_id)["body"]

    def list_by_resource_group(self, subscription: str, resource_group: str) -> list[dict[str, Any]]:
        group = self.ctx.require_group(parse(f"/subscriptions/{subscription}/resourceGroups/{resource_group}"))
        return self.ctx.list_under(group["body"]["id"], IMAGE_TYPE)

    def list(self, subscription: str) -> list[dict[str, Any]]:
        return self.ctx.list_subscription(subscription, IMAGE_TYPE)

    def create_or_update(
        self, image_id: str, body: dict[str, Any], *, api_version: str, seeded: bool = False
    ) -> Result:
        rid = self.ctx.canonical_id(parse(image_id))
        self.ctx.require_group(rid)
        location = v.location_of(body, ROOT)
        props = copy.deepcopy(v.properties(body))
        captured = self._capture(props)
        self._validate_storage(props)
        existing = self.ctx.find(image_id)
        if existing is not None:
            old = existing["body"]
            if region(old["location"]) != region(location):
                raise errors.Conflict(
                    f"The resource '{rid.name}' already exists in location '{old['location']}' in resource group "
                    f"'{rid.resource_group}'. A resource with the same name cannot be created in location "
                    f"'{location}'. Please select a new resource name.",
                )
            if self._content(old["properties"]) != self._content(props):
                self._on_source_changed(old["id"], "modified")
        props["provisioningState"] = "Succeeded" if seeded else ("Updating" if existing else "Creating")
        image: dict[str, Any] = {
            "id": str(rid),
            "name": rid.name,
            "type": IMAGE_TYPE,
            "location": location,
            **v.tags_entry(body, limit=self.ctx.settings.limits.max_tags),
            "properties": props,
        }
        if body.get("extendedLocation"):
            image["extendedLocation"] = body["extendedLocation"]
        self.ctx.store.put(image, existing["meta"] if existing else {"createdAt": self.ctx.clock.now().isoformat()})
        if seeded:
            return Result(image, created=existing is None)
        op = self._operation(rid, location, "update" if existing else "create", api_version)
        answer = None
        if captured:  # Azure's first answer has no disk sizes yet (recorded traffic); they appear once captured
            answer = copy.deepcopy(image)
            profile = answer["properties"]["storageProfile"]
            for disk in [profile["osDisk"], *profile["dataDisks"]]:
                disk.pop("diskSizeGB", None)
        return Result(image, created=existing is None, operation=op, answer=answer)

    def update(self, image_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        """Images_Update (PATCH): tags, and the few properties the ImageUpdate model carries."""
        record = self.ctx.require(image_id)
        image = record["body"]
        if "tags" in body:
            image["tags"] = v.tags_of(body, limit=self.ctx.settings.limits.max_tags)
        patch = v.properties(body)
        if patch:
            before = self._content(image["properties"])
            merged = {**image["properties"], **copy.deepcopy(patch)}
            self._validate_storage(merged)
            image["properties"] = merged
            if self._content(merged) != before:
                self._on_source_changed(image["id"], "modified")
        self.ctx.store.mark_record(record)
        return Result(image)

    def delete(self, image_id: str, *, api_version: str) -> Result:
        record = self.ctx.find(image_id)
        if record is None:
            return Result(None, deleted=False)
        rid = parse(record["body"]["id"])
        self._on_source_changed(record["body"]["id"], "deleted")
        record["body"]["properties"]["provisioningState"] = "Deleting"
        record["meta"]["deleting"] = True
        self.ctx.store.mark_record(record)
        op = self._operation(rid, record["body"]["location"], "delete", api_version)
        return Result(None, operation=op, deleted=True)

    # --- rules -----------------------------------------------------------------------------------------------
    def _capture(self, props: dict[str, Any]) -> bool:
        """An image from ``sourceVirtualMachine`` (and no storage profile) takes the VM's disks: OS type, caching,
        the managed disks and their storage type and size (from the disk resources, when they are seeded;
        disks are not emulated otherwise), OS state Generalized. True when it did."""
        vm_id = (props.get("sourceVirtualMachine") or {}).get("id")
        if not isinstance(vm_id, str) or props.get("storageProfile"):
            return False
        vm = self.ctx.find(vm_id)
        if vm is None:
            rid = parse(vm_id, prop="properties.sourceVirtualMachine.id")
            raise errors.NotFound(
                f"The Resource 'Microsoft.Compute/virtualMachines/{rid.name}' under resource group "
                f"'{rid.resource_group}' was not found.",
                target="properties.sourceVirtualMachine.id",
            )
        profile = v.dig(vm["body"], "properties.storageProfile") or {}
        os_disk = profile.get("osDisk") or {}
        props["storageProfile"] = {
            "osDisk": {"osType": os_disk.get("osType"), "osState": "Generalized", **self._disk(os_disk)},
            "dataDisks": [{"lun": d.get("lun"), **self._disk(d)} for d in profile.get("dataDisks") or []],
        }
        return True

    def _disk(self, vm_disk: dict[str, Any]) -> dict[str, Any]:
        managed = vm_disk.get("managedDisk") or {}
        disk = self.ctx.find(managed["id"]) if managed.get("id") else None
        size = (disk or {}).get("body", {}).get("properties", {}).get("diskSizeGB") or vm_disk.get("diskSizeGB")
        sku = (disk or {}).get("body", {}).get("sku", {}).get("name") or managed.get("storageAccountType")
        found: dict[str, Any] = {"managedDisk": {"id": managed["id"]}} if managed.get("id") else {}
        found["caching"] = vm_disk.get("caching", "None")
        if sku:
            found["storageAccountType"] = sku
        if size:
            found["diskSizeGB"] = size
        return found

    def _operation(self, rid: ResourceId, location: str, kind: str, api_version: str) -> dict[str, Any]:
        seconds = self.ctx.settings.lro.image_seconds
        return self.ctx.start_operation(rid, location, kind, api_version, seconds, style="operations")

    @staticmethod
    def _content(props: dict[str, Any]) -> Any:
        """What replication copies: the storage profile and generation (tags and state do not count)."""
        return {k: props.get(k) for k in ("storageProfile", "hyperVGeneration", "sourceVirtualMachine")}

    @staticmethod
    def _validate_storage(props: dict[str, Any]) -> None:
        v.enum(props.get("hyperVGeneration"), v.HYPERV, "properties.hyperVGeneration")
        profile = v.obj(props.get("storageProfile"), "properties.storageProfile")
        if not profile and not props.get("sourceVirtualMachine"):
            raise errors.InvalidParameter(
                f"Required parameter '{ROOT}.properties.storageProfile' is missing (null).",
                target="properties.storageProfile",
            )
        if not profile:
            return
        os_disk = v.obj(
            v.required(props, "storageProfile.osDisk", f"{ROOT}.properties"), "properties.storageProfile.osDisk"
        )
        v.enum(os_disk.get("osType"), v.OS_TYPES, "properties.storageProfile.osDisk.osType", optional=False)
        v.enum(os_disk.get("osState"), v.OS_STATES, "properties.storageProfile.osDisk.osState", optional=False)
        _check_disk(os_disk, "properties.storageProfile.osDisk", MAX_OS_DISK_GIB)
        luns: set[int] = set()
        for i, disk in enumerate(v.objs(profile.get("dataDisks"), "properties.storageProfile.dataDisks")):
            prop = f"properties.storageProfile.dataDisks[{i}]"
            lun = disk.get("lun")
            if not isinstance(lun, int) or lun < 0 or lun > 63:
                raise errors.InvalidParameter(f"The value of parameter '{prop}.lun' is invalid.", target=f"{prop}.lun")
            if lun in luns:
                raise errors.InvalidParameter(f"The LUN {lun} is used by more than one data disk.", target=prop)
            luns.add(lun)
            _check_disk(disk, prop, MAX_DATA_DISK_GIB)


def _check_disk(disk: dict[str, Any], prop: str, max_gib: int) -> None:
    v.enum(disk.get("caching"), v.CACHING, f"{prop}.caching")
    v.enum(disk.get("storageAccountType"), v.DISK_STORAGE_TYPES, f"{prop}.storageAccountType")
    size = disk.get("diskSizeGB")
    if size is not None and (not isinstance(size, int) or size < 1 or size > max_gib):
        raise errors.InvalidParameter(
            f"The value {size} of parameter '{prop}.diskSizeGB' is invalid: it must be between 1 and {max_gib} GB.",
            target=f"{prop}.diskSizeGB",
        )


def disk_sizes(image: dict[str, Any]) -> tuple[int, list[tuple[int, int]]]:
    """(os disk GiB, [(lun, GiB)]) of a managed image; a missing size counts as 30 GiB (Azure's Linux default)."""
    profile = v.dig(image, "properties.storageProfile") or {}
    os_size = int((profile.get("osDisk") or {}).get("diskSizeGB") or 30)
    data = [(int(d["lun"]), int(d.get("diskSizeGB") or 0)) for d in profile.get("dataDisks") or []]
    return os_size, data
