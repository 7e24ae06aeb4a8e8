"""Scale sets (listed so the app can find references to an image, and their model updated to point at a gallery
image) and virtual machines created from a gallery image version (enough for a boot test). Networking, disks and
extensions are not emulated: referenced NICs are stored as given and never checked.

A scale set's instances are modelled only as far as a model update concerns them: ``meta.modelGeneration`` counts
the model's changes and ``meta.instancesOnGeneration`` is the generation its instances run. With upgrade policy
``Manual`` a model update leaves the instances on the old model until someone upgrades or reimages them; with
``Automatic`` or ``Rolling`` the platform rolls them onto the new model (Learn, "Modify a Virtual Machine Scale Set":
upgrade policy modes), which the emulator records at once."""

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
IMAGE_TYPE = "Microsoft.Compute/images"
UPGRADE_MODES = ("Automatic", "Manual", "Rolling")  # spec UpgradeMode (modelAsString: false)
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
        """Stored as given, beyond the parts the model update needs: the upgrade policy (``Manual`` when not given,
        the spec's default) and the model's generation."""
        rid = self.ctx.canonical_id(parse(vmss_id))
        self.ctx.require_group(rid)
        existing = self.ctx.find(vmss_id)
        props = copy.deepcopy(v.properties(body))
        policy = v.obj(props.get("upgradePolicy"), "parameters.properties.upgradePolicy")
        policy["mode"] = (
            v.enum(policy.get("mode"), UPGRADE_MODES, "parameters.properties.upgradePolicy.mode") or "Manual"
        )
        props["upgradePolicy"] = policy
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
        generation = (existing["meta"].get("modelGeneration", 0) + 1) if existing else 1
        self.ctx.store.put(vmss, {"modelGeneration": generation, "instancesOnGeneration": generation})
        return Result(vmss, created=existing is None)

    def update_virtual_machine_scale_set(self, vmss_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        """``VirtualMachineScaleSets_Update`` (PATCH): objects merged into the model, lists replaced; a new image
        reference must be usable in the scale set's region. A long-running operation (200 with the resource
        ``Updating`` and ``Azure-AsyncOperation``; the spec's x-ms-examples answer 200 with the resource)."""
        record = self.ctx.require(vmss_id)
        old = record["body"]
        given = v.properties(body)
        props = _merged(old["properties"], given)
        if "upgradePolicy" in given:
            policy = v.obj(given.get("upgradePolicy"), "parameters.properties.upgradePolicy")
            v.enum(policy.get("mode"), UPGRADE_MODES, "parameters.properties.upgradePolicy.mode")
        reference = v.dig(given, "virtualMachineProfile.storageProfile.imageReference.id")
        if reference is not None:
            self._check_scale_set_image(str(reference), old["location"])
        if "tags" in body:
            old["tags"] = v.tags_of(body, limit=self.ctx.settings.limits.max_tags)
        meta = record["meta"]
        if "virtualMachineProfile" in given and props["virtualMachineProfile"] != old["properties"].get(
            "virtualMachineProfile"
        ):
            meta["modelGeneration"] = meta.get("modelGeneration", 1) + 1
            if (props.get("upgradePolicy") or {}).get("mode") in ("Automatic", "Rolling"):
                meta["instancesOnGeneration"] = meta["modelGeneration"]  # the platform rolls the instances
        props["provisioningState"] = "Updating"
        old["properties"] = props
        self.ctx.store.mark_record(record)
        seconds = self.ctx.settings.lro.scale_set_update_seconds
        op = self.ctx.start_operation(
            parse(old["id"]), old["location"], "update", api_version, seconds, style="operations"
        )
        return Result(old, operation=op)

    def _check_scale_set_image(self, image_ref: str, location: str) -> None:
        """A managed image that exists, or a gallery version (or definition: its latest) replicated to ``location``."""
        rid = parse(image_ref, prop="parameters.properties.virtualMachineProfile.storageProfile.imageReference.id")
        if rid.type.lower() == IMAGE_TYPE.lower():
            if self.ctx.find(image_ref) is None:
                raise errors.NotFound(
                    f"The platform image or gallery image '{image_ref}' is not available.",
                    target="parameters.properties.virtualMachineProfile.storageProfile.imageReference.id",
                )
            return
        self._check_image(image_ref, location)

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


def _merged(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body applied to a resource: objects merged key by key, everything else (lists too) replaced."""
    out = copy.deepcopy(old)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
