"""Galleries and image definitions (operationIds Galleries_*, GalleryImages_*)."""

from __future__ import annotations

import copy
import re
from typing import Any

from emulator.apiversions import SECURE_DEFAULTS_SINCE
from emulator.compute import validation as v
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.ids import ResourceId, parse, region

GALLERY_TYPE = "Microsoft.Compute/galleries"
DEFINITION_TYPE = "Microsoft.Compute/galleries/images"
VERSION_TYPE = "Microsoft.Compute/galleries/images/versions"
GALLERY_NAME = re.compile(r"^[^_\W][\w.-]{0,79}(?<![-.])$")
DEFINITION_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$")
NESTED = "Can not delete resource before nested resources are deleted."


def begin_delete(
    ctx: Context, record: dict[str, Any], api_version: str, seconds: float, style: str = "capsOperations"
) -> Result:
    body = record["body"]
    body.setdefault("properties", {})["provisioningState"] = "Deleting"
    record["meta"]["deleting"] = True
    ctx.store.mark_record(record)
    op = ctx.start_operation(parse(body["id"]), body["location"], "delete", api_version, seconds, style)
    return Result(None, operation=op, deleted=True)


class GalleriesBackend:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # --- galleries -------------------------------------------------------------------------------------------
    def get_gallery(self, gallery_id: str) -> dict[str, Any]:
        return self.ctx.require(gallery_id)["body"]

    def list_galleries_by_resource_group(self, subscription: str, resource_group: str) -> list[dict[str, Any]]:
        group = self.ctx.require_group(parse(f"/subscriptions/{subscription}/resourceGroups/{resource_group}"))
        return self.ctx.list_under(group["body"]["id"], GALLERY_TYPE)

    def list_galleries(self, subscription: str) -> list[dict[str, Any]]:
        return self.ctx.list_subscription(subscription, GALLERY_TYPE)

    def create_or_update_gallery(
        self, gallery_id: str, body: dict[str, Any], *, api_version: str, seeded: bool = False
    ) -> Result:
        rid = self.ctx.canonical_id(parse(gallery_id))
        if not GALLERY_NAME.match(rid.name):
            raise errors.InvalidParameter(
                f"The gallery name '{rid.name}' is invalid. It must be 1-80 characters of letters, digits, "
                "underscores and periods, must not start with an underscore and must not end with a period or "
                "hyphen.",
                target="galleryName",
            )
        self.ctx.require_group(rid)
        location = v.location_of(body, "gallery")
        existing = self.ctx.find(gallery_id)
        if existing and region(existing["body"]["location"]) != region(location):
            raise errors.PropertyChangeNotAllowed("gallery.location")
        props = copy.deepcopy(v.properties(body))
        props["identifier"] = {"uniqueName": f"{rid.subscription}-{rid.name.upper()}"}
        tags = v.tags_entry(body, limit=self.ctx.settings.limits.max_tags)
        return self._put(rid, GALLERY_TYPE, location, tags, props, existing, seeded, api_version)

    def update_gallery(self, gallery_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        record = self.ctx.require(gallery_id)
        gallery = record["body"]
        if "tags" in body:
            gallery["tags"] = v.tags_of(body, limit=self.ctx.settings.limits.max_tags)
        for key in ("description", "softDeletePolicy", "sharingProfile"):
            if key in v.properties(body):
                gallery["properties"][key] = body["properties"][key]
        gallery["properties"]["provisioningState"] = "Updating"
        self.ctx.store.mark_record(record)
        op = self.ctx.start_operation(
            parse(gallery["id"]),
            gallery["location"],
            "update",
            api_version,
            self.ctx.settings.lro.gallery_seconds,
        )
        return Result(gallery, operation=op)

    def delete_gallery(self, gallery_id: str, *, api_version: str) -> Result:
        record = self.ctx.find(gallery_id)
        if record is None:
            self.ctx.require_group(parse(gallery_id))
            return Result(None)
        if self.ctx.list_under(record["body"]["id"], DEFINITION_TYPE):
            raise errors.CannotDeleteResource(NESTED)
        return begin_delete(self.ctx, record, api_version, self.ctx.settings.lro.gallery_seconds)

    # --- image definitions ---------------------------------------------------------------------------------
    def get_gallery_image(self, image_id: str) -> dict[str, Any]:
        return self.ctx.require(image_id)["body"]

    def list_gallery_images_by_gallery(self, gallery_id: str) -> list[dict[str, Any]]:
        gallery = self.ctx.require(gallery_id)
        return self.ctx.list_under(gallery["body"]["id"], DEFINITION_TYPE)

    def create_or_update_gallery_image(
        self, image_id: str, body: dict[str, Any], *, api_version: str, seeded: bool = False
    ) -> Result:
        rid = self.ctx.canonical_id(parse(image_id))
        if not DEFINITION_NAME.match(rid.name):
            raise errors.InvalidParameter(
                f"The gallery image name '{rid.name}' is invalid. The allowed characters are alphabets and numbers "
                "with dots, dashes, and periods allowed in the middle. The maximum length is 80 characters.",
                target="galleryImageName",
            )
        gallery = self.ctx.require(str(rid.parent))["body"]
        location = v.location_of(body, "galleryImage")
        if region(location) != region(gallery["location"]):
            raise errors.InvalidParameter(
                f"The gallery image location '{location}' must be the gallery's location '{gallery['location']}'.",
                target="galleryImage.location",
            )
        props = copy.deepcopy(v.properties(body))
        root = "galleryImage"
        v.enum(v.required(body, "properties.osType", root), v.OS_TYPES, f"{root}.properties.osType", optional=False)
        v.enum(v.required(body, "properties.osState", root), v.OS_STATES, f"{root}.properties.osState", optional=False)
        v.obj(props.get("identifier"), f"{root}.properties.identifier")
        for part in ("publisher", "offer", "sku"):
            v.string(v.required(body, f"properties.identifier.{part}", root), f"{root}.properties.identifier.{part}")
        v.objs(props.get("features"), f"{root}.properties.features")
        v.enum(props.get("hyperVGeneration"), v.HYPERV, f"{root}.properties.hyperVGeneration")
        v.enum(props.get("architecture"), v.ARCHITECTURES, f"{root}.properties.architecture")
        existing = self.ctx.find(image_id)
        if existing:
            old = existing["body"]
            v.immutable(
                old,
                body,
                tuple(
                    f"properties.{p}"
                    for p in (
                        "osType",
                        "osState",
                        "identifier.publisher",
                        "identifier.offer",
                        "identifier.sku",
                        "hyperVGeneration",
                        "architecture",
                        "purchasePlan.name",
                        "purchasePlan.publisher",
                        "purchasePlan.product",
                    )
                ),
                root,
            )
            if (
                "features" in props
                and (props["features"] or []) != (old["properties"].get("features") or [])
                and not props.get("allowUpdateImage")
            ):
                raise errors.PropertyChangeNotAllowed(f"{root}.properties.features")
            props = {**old["properties"], **props}
        else:
            self._apply_defaults(props, api_version)
        self._check_identifier_unique(rid, props["identifier"])
        for key in ("features", "disallowed"):  # Azure leaves them out when empty (recorded traffic)
            if not props.get(key) or props[key] == {"diskTypes": []}:
                props.pop(key, None)
        tags = v.tags_entry(body, limit=self.ctx.settings.limits.max_tags)
        return self._put(rid, DEFINITION_TYPE, location, tags, props, existing, seeded, api_version)

    def update_gallery_image(self, image_id: str, body: dict[str, Any], *, api_version: str) -> Result:
        """GalleryImages_Update (PATCH): the stored definition with the given properties and tags applied."""
        old = self.ctx.require(image_id)["body"]
        properties = {**old["properties"], **v.properties(body)}
        merged: dict[str, Any] = {"location": old["location"], "properties": properties}
        if "tags" in body or "tags" in old:
            merged["tags"] = body.get("tags", old.get("tags"))
        return self.create_or_update_gallery_image(image_id, merged, api_version=api_version)

    def delete_gallery_image(self, image_id: str, *, api_version: str) -> Result:
        record = self.ctx.find(image_id)
        if record is None:
            self.ctx.require(str(parse(image_id).parent))
            return Result(None)
        if self.ctx.list_under(record["body"]["id"], VERSION_TYPE):
            raise errors.CannotDeleteResource(NESTED)
        return begin_delete(self.ctx, record, api_version, self.ctx.settings.lro.gallery_seconds)

    # --- rules -----------------------------------------------------------------------------------------------
    def _put(
        self,
        rid: ResourceId,
        rtype: str,
        location: str,
        tags: dict[str, dict[str, str]],
        props: dict[str, Any],
        existing: dict[str, Any] | None,
        seeded: bool,
        api_version: str,
    ) -> Result:
        """Store a gallery or definition (Creating/Updating, or Succeeded when seeded) and start its LRO."""
        props["provisioningState"] = "Succeeded" if seeded else ("Updating" if existing else "Creating")
        resource = _tracked(rid, rtype, location, tags, props)
        self.ctx.store.put(resource, existing["meta"] if existing else {})
        if seeded:
            return Result(resource, created=existing is None)
        kind = "update" if existing else "create"
        op = self.ctx.start_operation(rid, location, kind, api_version, self.ctx.settings.lro.gallery_seconds)
        return Result(resource, created=existing is None, operation=op)

    @staticmethod
    def _apply_defaults(props: dict[str, Any], api_version: str) -> None:
        secure = api_version >= SECURE_DEFAULTS_SINCE
        props.setdefault("hyperVGeneration", "V2" if secure else "V1")
        props.setdefault("architecture", "x64")
        features = props.setdefault("features", [])
        if (
            secure
            and props["hyperVGeneration"] == "V2"
            and not any(f.get("name", "").lower() == "securitytype" for f in features)
        ):
            features.append({"name": "SecurityType", "value": "TrustedLaunchSupported"})

    def _check_identifier_unique(self, rid: ResourceId, identifier: dict[str, str]) -> None:
        wanted = tuple(identifier.get(p, "").lower() for p in ("publisher", "offer", "sku"))
        for other in self.ctx.list_under(str(rid.parent), DEFINITION_TYPE):
            if other["name"].lower() == rid.name.lower():
                continue
            ident = other["properties"]["identifier"]
            if tuple(ident.get(p, "").lower() for p in ("publisher", "offer", "sku")) == wanted:
                raise errors.Conflict(
                    f"The gallery image identifier (publisher '{identifier['publisher']}', offer "
                    f"'{identifier['offer']}', sku '{identifier['sku']}') is already used by gallery image "
                    f"'{other['name']}' in gallery '{rid.names[0]}'.",
                    target="galleryImage.properties.identifier",
                )


def _tracked(
    rid: ResourceId, rtype: str, location: str, tags: dict[str, dict[str, str]], props: dict[str, Any]
) -> dict[str, Any]:
    return {"id": str(rid), "name": rid.name, "type": rtype, "location": location, **tags, "properties": props}
