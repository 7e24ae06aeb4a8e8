"""Scale sets (listed so the app can find references to an image) and virtual machines created from a gallery
image version (enough for a boot test). Networking, disks and extensions are not emulated: referenced NICs are
stored as given and never checked."""

from __future__ import annotations

import copy
from typing import Any

from emulator.compute import validation as v
from emulator.compute.galleries import VERSION_TYPE, begin_delete
from emulator.compute.versions import VersionsBackend
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.ids import parse, region

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
VM_TYPE = "Microsoft.Compute/virtualMachines"
DEFINITION_TYPE = "Microsoft.Compute/galleries/images"


class MachinesBackend:
    def __init__(self, ctx: Context, versions: VersionsBackend):
        self.ctx = ctx
        self.versions = versions

    # --- scale sets ------------------------------------------------------------------------------------------
    def list_all_virtual_machine_scale_sets(self, subscription: str) -> list[dict[str, Any]]:
        return self.ctx.list_subscription(subscription, VMSS_TYPE)

    def list_virtual_machine_scale_sets(self, subscription: str, resource_group: str) -> list[dict[str, Any]]:
        group = self.ctx.require_group(parse(f"/subscriptions/{subscription}/resourceGroups/{resource_group}"))
        return self.ctx.list_under(group["body"]["id"], VMSS_TYPE)

    def get_virtual_machine_scale_set(self, vmss_id: str) -> dict[str, Any]:
        return self.ctx.require(vmss_id)["body"]

    def create_or_update_virtual_machine_scale_set(self, vmss_id: str, body: dict[str, Any], **_: Any) -> Result:
        """Stored as given (the scale-set model is not emulated beyond its image reference)."""
        rid = self.ctx.canonical_id(parse(vmss_id))
        self.ctx.require_group(rid)
        existing = self.ctx.find(vmss_id)
        props = copy.deepcopy(v.properties(body))
        props["provisioningState"] = "Succeeded"
        vmss = {
            "id": str(rid),
            "name": rid.name,
            "type": VMSS_TYPE,
            "location": v.location_of(body, "parameters"),
            **v.tags_entry(body, limit=self.ctx.settings.limits.max_tags),
            "properties": props,
        }
        for key in ("sku", "zones", "identity", "plan"):
            if key in body:
                vmss[key] = body[key]
        self.ctx.store.put(vmss, {})
        return Result(vmss, created=existing is None)

    def delete_virtual_machine_scale_set(self, vmss_id: str, **_: Any) -> Result:
        existed = self.ctx.store.remove(vmss_id) is not None
        return Result(None, deleted=existed)

    # --- virtual machines ------------------------------------------------------------------------------------
    def get_virtual_machine(self, vm_id: str) -> dict[str, Any]:
        return self.ctx.require(vm_id)["body"]

    def list_virtual_machines(self, subscription: str, resource_group: str) -> list[dict[str, Any]]:
        group = self.ctx.require_group(parse(f"/subscriptions/{subscription}/resourceGroups/{resource_group}"))
        return self.ctx.list_under(group["body"]["id"], VM_TYPE)

    def create_or_update_virtual_machine(self, vm_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        rid = self.ctx.canonical_id(parse(vm_id))
        self.ctx.require_group(rid)
        location = v.location_of(body, "parameters")
        props = copy.deepcopy(v.properties(body))
        image_ref = v.required(body, "properties.storageProfile.imageReference.id", "parameters")
        self._check_image(image_ref, location)
        existing = self.ctx.find(vm_id)
        props["provisioningState"] = "Updating" if existing else "Creating"
        props.setdefault("vmId", rid.name)
        vm = {
            "id": str(rid),
            "name": rid.name,
            "type": VM_TYPE,
            "location": location,
            **v.tags_entry(body, limit=self.ctx.settings.limits.max_tags),
            "properties": props,
        }
        self.ctx.store.put(vm, {})
        kind = "update" if existing else "create"
        seconds = self.ctx.settings.lro.vm_boot_seconds
        op = self.ctx.start_operation(rid, location, kind, api_version, seconds, style="operations")
        return Result(vm, created=existing is None, operation=op)

    def delete_virtual_machine(self, vm_id: str, *, api_version: str) -> Result:
        record = self.ctx.find(vm_id)
        if record is None:
            return Result(None)
        return begin_delete(self.ctx, record, api_version, 0.0, style="operations")

    def _check_image(self, image_ref: str, location: str) -> None:
        target = "parameters.properties.storageProfile.imageReference.id"
        rid = parse(image_ref, prop=target)
        record = None
        if rid.type.lower() == VERSION_TYPE.lower():
            record = self.ctx.find(image_ref)
        elif rid.type.lower() == DEFINITION_TYPE.lower():  # "latest": the newest version not excluded from latest
            candidates = [
                r
                for r in self.ctx.store.under(image_ref, VERSION_TYPE)
                if not r["body"]["properties"]["publishingProfile"].get("excludeFromLatest")
                and r["body"]["properties"].get("provisioningState") == "Succeeded"
            ]
            candidates.sort(key=lambda r: tuple(int(p) for p in r["body"]["name"].split(".")))
            record = candidates[-1] if candidates else None
        else:
            raise errors.InvalidParameter(
                "The emulator creates virtual machines from gallery image versions or definitions only.", target=target
            )
        if record is None:
            raise errors.NotFound(f"The platform image or gallery image '{image_ref}' is not available.", target=target)
        done = {s.region.replace(" ", "").lower() for s in self.versions.statuses(record) if s.state == "Completed"}
        if region(location) not in done:
            raise errors.InvalidParameter(
                f"The gallery image version '{record['body']['id']}' is not available in region '{location}'. "
                "Replicate it to that region first.",
                target=target,
            )
