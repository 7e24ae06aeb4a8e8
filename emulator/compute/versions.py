"""Gallery image versions (operationIds GalleryImageVersions_*): creation from a managed image, replication, rules."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from emulator.apiversions import (
    DELETION_BLOCK_DEFAULTS_SINCE,
    LATEST_GALLERY,
    SECURE_DEFAULTS_SINCE,
    STORAGE_ACCOUNT_STRATEGY_SINCE,
    VALIDATIONS_PROFILE_SINCE,
)
from emulator.clock import iso, parse_iso
from emulator.compute import replication
from emulator.compute import validation as v
from emulator.compute.galleries import VERSION_TYPE, begin_delete
from emulator.compute.images import IMAGE_TYPE, disk_sizes
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.ids import ResourceId, norm, parse, region
from emulator.core.regions import display_name

ROOT = "galleryImageVersion"
VERSION_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
IN_FLIGHT = ("Creating", "Updating")
MAX_REPLICAS = 100


def check_version_name(name: str) -> None:
    m = VERSION_NAME.match(name)
    if not m or any(int(part) > v.INT32_MAX for part in m.groups()):
        raise errors.InvalidParameter(
            f"The gallery image version name '{name}' is invalid. It needs to follow the semantic version name "
            "pattern: the allowed characters are digits and periods, digits must be within the range of a 32-bit "
            "integer, format: <MajorVersion>.<MinorVersion>.<Patch>.",
            target="galleryImageVersionName",
        )


class VersionsBackend:
    def __init__(self, ctx: Context, after_plan: Callable[[dict[str, Any]], None] | None = None):
        self.ctx = ctx
        self._after_plan = after_plan or (lambda record: None)  # applies injected replication faults

    def get_gallery_image_version(
        self, version_id: str, *, expand: str | None = None, api_version: str = LATEST_GALLERY
    ) -> dict[str, Any]:
        record = self.ctx.require(version_id)
        body = self.view(record, api_version)
        if expand and expand.lower() == "replicationstatus":
            statuses = self.statuses(record)
            body["properties"]["replicationStatus"] = {
                "aggregatedState": replication.aggregate(statuses),
                "summary": [s.to_json() for s in statuses],
            }
        return body

    def list_gallery_image_versions_by_gallery_image(
        self, image_id: str, *, api_version: str = LATEST_GALLERY
    ) -> list[dict[str, Any]]:
        definition = self.ctx.require(image_id)
        records = self.ctx.store.under(definition["body"]["id"], VERSION_TYPE)
        return [self.view(r, api_version) for r in records]

    def view(self, record: dict[str, Any], api_version: str) -> dict[str, Any]:
        """The version as ``api-version`` shows it: properties newer than that version left out, and since
        2024-03-03 the ``validationsProfile`` (Trusted launch validation of a TrustedLaunch-capable definition's
        versions finishes after an hour at the soonest: Microsoft Learn, "Azure Compute Gallery", Trusted launch
        validation)."""
        body = copy.deepcopy(record["body"])
        props = body["properties"]
        if api_version < STORAGE_ACCOUNT_STRATEGY_SINCE:
            props.get("publishingProfile", {}).pop("storageAccountStrategy", None)
        if api_version >= VALIDATIONS_PROFILE_SINCE:
            props["validationsProfile"] = {"executedValidations": self._validations(record)}
        return body

    def _validations(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        definition = self.ctx.find(str(parse(record["body"]["id"]).parent))
        features = (definition or {}).get("body", {}).get("properties", {}).get("features") or []
        security = next((f.get("value", "") for f in features if f.get("name", "").lower() == "securitytype"), "")
        published = record["body"]["properties"].get("publishingProfile", {}).get("publishedDate")
        if not security.lower().startswith("trustedlaunch") or not published:
            return []
        done = parse_iso(published) + timedelta(hours=1)
        if self.ctx.clock.now() < done:
            return []
        return [{"type": "TrustedLaunch", "status": "Succeeded", "version": "0.0.2", "executionTime": iso(done)}]

    def statuses(self, record: dict[str, Any]) -> list[replication.RegionStatus]:
        now = self.ctx.clock.now()
        return [replication.region_status(entry, now) for entry in record["meta"].get("plan", [])]

    def create_or_update_gallery_image_version(
        self, version_id: str, body: dict[str, Any], *, api_version: str, seeded: bool = False
    ) -> Result:
        rid = self.ctx.canonical_id(parse(version_id))
        check_version_name(rid.name)
        definition = self.ctx.require(str(rid.parent))["body"]
        gallery = self.ctx.require(str(rid.parent.parent))["body"]
        location = v.location_of(body, ROOT)
        if region(location) != region(gallery["location"]):
            raise errors.InvalidParameter(
                f"The gallery image version location '{location}' must be the gallery's location "
                f"'{gallery['location']}'.",
                target=f"{ROOT}.location",
            )
        v.required(body, "properties.storageProfile", ROOT)
        existing = self.ctx.find(version_id)
        if existing:
            return self._update_existing(existing, body, api_version)
        source_id = self._source_id(body)
        image = self._check_source(source_id, definition, location)
        self._check_not_in_use(source_id)
        now = self.ctx.clock.now()
        props = copy.deepcopy(v.properties(body))
        props["publishingProfile"] = self._publishing_profile(
            props.get("publishingProfile") or {}, location, api_version
        )
        props["publishingProfile"]["publishedDate"] = iso(now)
        props["storageProfile"] = _storage_profile(image)
        props.setdefault("safetyProfile", {}).setdefault("allowDeletionOfReplicatedLocations", False)
        props["safetyProfile"].setdefault("reportedForPolicyViolation", False)
        if api_version >= DELETION_BLOCK_DEFAULTS_SINCE and not seeded:
            # Azure/azure-cli src/azure-cli/azure/cli/command_modules/vm/_breaking_change.py ("sig image-version
            # create"): "Starting api-version 2026-03-03, gallery image versions will default to: endOfLifeDate = 6
            # months from publish date (unless explicitly set); blockDeletionBeforeEndOfLife = true (unless explicitly
            # set)". Seeded versions stand for ones that already exist, created before.
            props["safetyProfile"].setdefault("blockDeletionBeforeEndOfLife", True)
            props["publishingProfile"].setdefault("endOfLifeDate", iso(six_months_after(now)))
        props["provisioningState"] = "Succeeded" if seeded else "Creating"
        version = {
            "id": str(rid),
            "name": rid.name,
            "type": VERSION_TYPE,
            "location": location,
            **v.tags_entry(body, limit=self.ctx.settings.limits.max_tags),
            "properties": props,
        }
        meta = {
            "sourceId": image["id"],
            "mode": props["publishingProfile"].get("replicationMode", "Full"),
            "plan": self._plan(props["publishingProfile"], image, now, seeded=seeded),
        }
        record = self.ctx.store.put(version, meta)
        self._after_plan(record)
        if seeded:
            return Result(version, created=True)
        answer = self.view(record, api_version)
        answer["properties"]["storageProfile"] = {"source": copy.deepcopy(props["storageProfile"]["source"])}
        operation = self._operation(rid, location, "create", api_version)
        return Result(version, created=True, operation=operation, answer=answer)  # 201: the disks come later

    def update_gallery_image_version(self, version_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        record = self.ctx.require(version_id)
        return self._update_existing(record, body, api_version)

    def delete_gallery_image_version(self, version_id: str, *, api_version: str) -> Result:
        record = self.ctx.find(version_id)
        if record is None:
            self.ctx.require(str(parse(version_id).parent))
            return Result(None)
        props = record["body"]["properties"]
        eol = props.get("publishingProfile", {}).get("endOfLifeDate")
        # Spec (GalleryImageVersionSafetyProfile.blockDeletionBeforeEndOfLife): "Indicates whether or not the deletion
        # is blocked for this Gallery Image Version if its End Of Life has not expired". Azure's status, code and text
        # for the refusal are not published (searched: Learn, the specs' examples, azure-cli, issues): 409
        # OperationNotAllowed, emulator wording.
        if (
            props.get("safetyProfile", {}).get("blockDeletionBeforeEndOfLife")
            and eol
            and eol > iso(self.ctx.clock.now())
        ):
            raise errors.OperationNotAllowed(
                f"Deletion of gallery image version '{record['body']['name']}' is blocked before its end of life "
                f"date '{eol}' (safetyProfile.blockDeletionBeforeEndOfLife)."
            )
        for op in self.ctx.ops.in_progress():
            if norm(op["resourceId"]) == norm(record["body"]["id"]) and op["kind"] != "delete":
                error = {"code": "OperationCanceled", "message": "The image version was deleted."}
                self.ctx.ops.cancel(op, self.ctx.clock.now(), error)
        return begin_delete(self.ctx, record, api_version, self.ctx.settings.lro.version_delete_seconds)

    # --- rules -----------------------------------------------------------------------------------------------
    def _operation(self, rid: ResourceId, location: str, kind: str, api_version: str) -> dict[str, Any]:
        """Create/update completes when replication does (the settler finishes it), hence no due time; an update
        takes at least ``lro.versionUpdateSeconds`` even when it copies nothing (Azure: a re-PUT or PATCH that adds
        no region stays Updating for 150 s)."""
        op = self.ctx.start_operation(rid, location, kind, api_version, None)
        if kind == "update":
            shortest = timedelta(seconds=self.ctx.settings.lro.version_update_seconds)
            op["notBefore"] = iso(self.ctx.clock.now() + shortest)
        return op

    @staticmethod
    def _source_id(body: dict[str, Any]) -> str:
        v.obj(v.dig(body, "properties.storageProfile"), f"{ROOT}.properties.storageProfile")
        source = v.obj(v.dig(body, "properties.storageProfile.source"), f"{ROOT}.properties.storageProfile.source")
        if source.get("virtualMachineId") or source.get("communityGalleryImageId"):
            raise errors.InvalidParameter(
                "The emulator supports managed images (storageProfile.source.id) as the source of an image "
                "version; virtual machine and community gallery sources are not emulated.",
                target=f"{ROOT}.properties.storageProfile.source",
            )
        source_id = v.string(
            v.required(body, "properties.storageProfile.source.id", ROOT), f"{ROOT}.properties.storageProfile.source.id"
        )
        return str(source_id)

    def _check_source(self, source_id: str, definition: dict[str, Any], location: str) -> dict[str, Any]:
        target = f"{ROOT}.properties.storageProfile.source.id"
        srid = parse(source_id, prop=target)
        if srid.type.lower() != IMAGE_TYPE.lower():
            raise errors.InvalidParameter(
                f"The source '{source_id}' is not a managed image; the emulator supports managed image sources.",
                target=target,
            )
        record = self.ctx.find(source_id)
        if record is None:
            raise errors.NotFound(f"The source image '{source_id}' could not be found.", target=target)
        image = record["body"]
        props = image["properties"]
        if props.get("provisioningState") != "Succeeded":
            raise errors.Conflict(
                f"The source image '{image['id']}' is in provisioning state '{props.get('provisioningState')}'; "
                "it must be 'Succeeded'.",
                target=target,
            )
        # Azure's rules for a managed-image source (Learn, "Troubleshoot shared image galleries", Creating or
        # updating image versions; the status and code are not documented: 400 InvalidParameter): the source is in
        # the version's region ("Create an image definition and an image version": "The managed image must be in
        # the same region"), and in another subscription only when it is not encrypted.
        if region(image["location"]) != region(location):
            raise errors.InvalidParameter(
                f"Source {image['id']} is not found. Please check source exists, and is in the same region as "
                "gallery image version being created.",
                target=target,
            )
        version_subscription = str(definition["id"]).split("/")[2]
        if srid.subscription.lower() != version_subscription.lower() and _encrypted(image):
            raise errors.InvalidParameter(
                f"Encrypted source: '{image['id']}' is in a different subscription ID than the current gallery image "
                f"version subscription '{version_subscription}'. Please retry with an unencrypted source(s) or use "
                f"the source's subscription '{srid.subscription}' to create the gallery image version.",
                target=target,
            )
        os_disk = v.dig(image, "properties.storageProfile.osDisk") or {}
        dprops = definition["properties"]
        pairs = (
            ("OS type", os_disk.get("osType"), dprops.get("osType")),
            ("OS state", os_disk.get("osState"), dprops.get("osState")),
            ("Hyper-V generation", props.get("hyperVGeneration") or "V1", dprops.get("hyperVGeneration") or "V1"),
        )
        for what, src, dst in pairs:
            if str(src).lower() != str(dst).lower():
                raise errors.InvalidParameter(
                    f"The {what} '{src}' of the source image '{image['id']}' does not match the {what} '{dst}' of "
                    f"gallery image '{definition['name']}'.",
                    target=target,
                )
        limit = self.ctx.settings.limits.max_data_disk_gib
        for lun, size in disk_sizes(image)[1]:
            if size > limit:
                raise errors.InvalidParameter(
                    f"The data disk at LUN {lun} of the source image is {size} GB; the maximum size of a data disk "
                    f"is {limit} GB.",
                    target=target,
                )
        return image

    def _check_not_in_use(self, source_id: str) -> None:
        for record in self.ctx.store.under("/subscriptions", VERSION_TYPE):
            other = record["body"]
            if (
                norm(record["meta"].get("sourceId", "")) == norm(source_id)
                and other["properties"].get("provisioningState") in IN_FLIGHT
                and not record["meta"].get("deleting")
            ):
                raise errors.Conflict(
                    f"The source image '{source_id}' is in use by another operation: gallery image version "
                    f"'{other['id']}' is still being created or replicated from it. Retry after that operation "
                    "completes.",
                    target=f"{ROOT}.properties.storageProfile.source.id",
                )

    def _publishing_profile(self, given: dict[str, Any], location: str, api_version: str) -> dict[str, Any]:
        prefix = f"{ROOT}.properties.publishingProfile"
        pp = copy.deepcopy(v.obj(given, prefix))
        v.enum(pp.get("storageAccountType"), v.GALLERY_STORAGE_TYPES, f"{prefix}.storageAccountType")
        v.enum(pp.get("storageAccountStrategy"), v.STORAGE_STRATEGIES, f"{prefix}.storageAccountStrategy")
        v.enum(pp.get("replicationMode"), v.REPLICATION_MODES, f"{prefix}.replicationMode")
        if pp.get("storageAccountType") and pp.get("storageAccountStrategy"):
            raise errors.InvalidParameter(
                "storageAccountType and storageAccountStrategy cannot be specified together.",
                target=f"{prefix}.storageAccountStrategy",
            )
        if not pp.get("storageAccountType") and not pp.get("storageAccountStrategy"):
            if api_version >= SECURE_DEFAULTS_SINCE:
                pp["storageAccountStrategy"] = "PreferStandard_ZRS"
            else:
                pp["storageAccountType"] = "Standard_LRS"
        pp.setdefault("replicaCount", 1)
        pp.setdefault("excludeFromLatest", False)
        _check_replicas(pp["replicaCount"], f"{prefix}.replicaCount")
        default_type = pp.get("storageAccountType") or (
            "Standard_ZRS" if pp.get("storageAccountStrategy") == "PreferStandard_ZRS" else "Standard_LRS"
        )
        regions = v.objs(pp.get("targetRegions"), f"{prefix}.targetRegions") or [{"name": location}]
        seen: set[str] = set()
        for i, target in enumerate(regions):
            name = v.string(target.get("name"), f"{prefix}.targetRegions[{i}].name")
            if not name:
                raise errors.InvalidParameter(
                    f"Required parameter '{prefix}.targetRegions[{i}].name' is missing (null).",
                    target=f"{prefix}.targetRegions[{i}].name",
                )
            if region(name) in seen:
                raise errors.InvalidParameter(
                    f"The region '{name}' is listed more than once in targetRegions.", target=f"{prefix}.targetRegions"
                )
            seen.add(region(name))
            target.setdefault("regionalReplicaCount", pp["replicaCount"])
            _check_replicas(target["regionalReplicaCount"], f"{prefix}.targetRegions[{i}].regionalReplicaCount")
            v.enum(
                target.get("storageAccountType"),
                v.GALLERY_STORAGE_TYPES,
                f"{prefix}.targetRegions[{i}].storageAccountType",
            )
            target.setdefault("storageAccountType", default_type)
            target["name"] = display_name(name)  # Azure answers "West US 2" whatever the request said
            os_encryption = (target.get("encryption") or {}).get("osDiskImage")
            if isinstance(os_encryption, dict):
                os_encryption.setdefault("securityProfile", {})  # as Azure answers (recorded traffic)
        if region(location) not in seen:  # Azure's text (Learn, "Troubleshoot shared image galleries")
            listed = ", ".join(display_name(r) for r in sorted(seen))
            raise errors.InvalidParameter(
                f"Gallery image version publishing profile regions '{listed}' must contain the location of image "
                f"version '{location}'.",
                target=f"{prefix}.targetRegions",
            )
        if pp.get("replicationMode") == "Shallow" and len(seen) > 1:
            raise errors.InvalidParameter(
                "Shallow replication mode supports only the source region as target region.",
                target=f"{prefix}.replicationMode",
            )
        pp["targetRegions"] = regions
        return pp

    def _plan(self, pp: dict[str, Any], image: dict[str, Any], now: Any, *, seeded: bool) -> list[dict[str, Any]]:
        os_size, data = disk_sizes(image)
        size = os_size + sum(s for _, s in data)
        timings = self.ctx.settings.replication
        plan = []
        for target in pp["targetRegions"]:
            entry = replication.plan_region(timings, target["name"], size, int(target["regionalReplicaCount"]), now)
            if seeded:
                entry["start"], entry["duration"] = iso(now - timedelta(days=1)), 0.0
            plan.append(entry)
        return plan

    def _update_existing(self, record: dict[str, Any], body: dict[str, Any], api_version: str) -> Result:
        old = record["body"]
        v.immutable(
            old,
            body,
            (
                "properties.storageProfile.source.id",
                "properties.publishingProfile.storageAccountType",
                "properties.publishingProfile.storageAccountStrategy",
                "properties.publishingProfile.replicationMode",
            ),
            ROOT,
        )
        if "location" in body and region(body["location"]) != region(old["location"]):
            raise errors.PropertyChangeNotAllowed(f"{ROOT}.location")
        props = old["properties"]
        given = v.properties(body)
        given_pp = given.get("publishingProfile") or {}
        pp = {**props["publishingProfile"], **given_pp}
        listed = bool(given_pp.get("targetRegions"))
        if not listed:  # null or empty: the version keeps its regions (Azure's message below says so)
            pp["targetRegions"] = copy.deepcopy(props["publishingProfile"]["targetRegions"])
        pp = self._publishing_profile(pp, old["location"], api_version)
        safety = {**props.get("safetyProfile", {}), **(given.get("safetyProfile") or {})}
        plan = record["meta"]["plan"]
        known = {e["key"] for e in plan}
        wanted = {region(t["name"]) for t in pp["targetRegions"]}
        if known - wanted and not safety.get("allowDeletionOfReplicatedLocations"):
            # Azure's answer, as quoted in hashicorp/terraform-provider-azurerm#21999 (for an application version;
            # the same safety profile governs image versions: spec GalleryArtifactSafetyProfileBase).
            raise errors.BadRequest(
                f"Complete set of target locations not specified while updating gallery artifact '{old['name']}' "  # noqa: S608
                "and type 'GalleryImageVersion'. Deletion of previously replicated locations is not allowed, and you "
                "need to specify a complete set of target locations in the update request or specify null or empty "
                "set for target regions in the update request or set allow deletion of replicated locations under "
                "safety profile property. To figure out complete set of target locations, you can perform a get "
                "first on gallery artifact"
            )
        now = self.ctx.clock.now()
        resubmit = {e["key"] for e in plan if listed and replication.needs_resubmit(e, now)}
        added = [t for t in pp["targetRegions"] if region(t["name"]) not in known or region(t["name"]) in resubmit]
        image = self.ctx.find(record["meta"]["sourceId"])
        if added and image is None:
            raise errors.InvalidParameter(
                f"The source image '{record['meta']['sourceId']}' no longer exists; regions cannot be added.",
                target=f"{ROOT}.properties.publishingProfile.targetRegions",
            )
        record["meta"]["plan"] = [e for e in plan if e["key"] in wanted and e["key"] not in resubmit]
        self.ctx.ops.wake(old["id"])  # the plan changed: operations in progress on it get another look
        if added and image is not None:
            record["meta"]["plan"] += self._plan({"targetRegions": added}, image["body"], now, seeded=False)
            record["meta"]["plan"].sort(key=lambda e: [region(t["name"]) for t in pp["targetRegions"]].index(e["key"]))
        self._after_plan(record)
        props["publishingProfile"] = pp
        if "safetyProfile" in given:
            props["safetyProfile"] = safety
        if "tags" in body:
            old["tags"] = v.tags_of(body, limit=self.ctx.settings.limits.max_tags)
        if props.get("provisioningState") != "Failed" or added:
            props["provisioningState"] = "Updating"
        self.ctx.store.mark_record(record)
        operation = self._operation(parse(old["id"]), old["location"], "update", api_version)
        return Result(old, operation=operation, answer=self.view(record, api_version))


def _check_replicas(count: Any, prop: str) -> None:
    if not isinstance(count, int) or not 1 <= count <= MAX_REPLICAS:
        raise errors.InvalidParameter(
            f"The value {count} of parameter '{prop}' is invalid: the replica count must be between 1 and "
            f"{MAX_REPLICAS}.",
            target=prop,
        )


def _encrypted(image: dict[str, Any]) -> bool:
    """A disk of the managed image is encrypted with a disk encryption set (customer-managed keys)."""
    profile = v.dig(image, "properties.storageProfile") or {}
    disks = [profile.get("osDisk") or {}, *(profile.get("dataDisks") or [])]
    return any(isinstance(d, dict) and (d.get("diskEncryptionSet") or {}).get("id") for d in disks)


def _storage_profile(image: dict[str, Any]) -> dict[str, Any]:
    os_size, data = disk_sizes(image)
    profile = v.dig(image, "properties.storageProfile") or {}
    caching = {int(d["lun"]): d.get("caching", "None") for d in profile.get("dataDisks") or []}
    return {
        "source": {"id": image["id"]},
        "osDiskImage": {
            "sizeInGB": os_size,
            "hostCaching": (profile.get("osDisk") or {}).get("caching", "ReadWrite"),
            "source": {},  # as Azure answers (recorded traffic)
        },
        "dataDiskImages": [{"lun": lun, "sizeInGB": size, "hostCaching": caching[lun]} for lun, size in data],
    }


def six_months_after(moment: datetime) -> datetime:
    """The same day and time six calendar months later (the month's last day when it is shorter)."""
    month = moment.month + 6
    year, month = moment.year + (month - 1) // 12, (month - 1) % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))
