"""Reads for fleet plans and batches, and a batch's Durable bookkeeping. All ARM access here is GET.

- ``list_scope_images``: the managed images of a scope (or named images), filtered;
- ``list_gallery_sources``: which source images the target gallery already holds versions of;
- ``list_scale_set_references``: the scale sets whose model references each image (as the deletion guard sees
  them: ``SCALE_SET_CHECK_SCOPE``);
- ``get_active_migrations`` / ``cancel_migrations``: the per-image migration instances that are active, and
  raising ``cancel`` on them (Durable client, no ARM);
- ``read_inventory``: a slice of a plan's or batch's inventory (the output of its ``fleet_inventory``).

These activities are on their own blueprint (:data:`bp`), listed in ``activities.blueprints``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.durable_instances import all_instances
from migration import arm_json
from migration.errors import InvalidRequest
from migration.fleet import MAX_FLEET_IMAGES, ImageFilters, ImageItem, Scope
from migration.instance_ids import PREFIX
from migration.inventory import queued_entries
from migration.resource_ids import GalleryId, ImageId, id_key
from migration.status import ACTIVE_RUNTIME_STATUSES

logger = logging.getLogger(__name__)

bp = df.Blueprint()


def image_item(image: dict[str, Any]) -> ImageItem:
    os_disk = ((image.get("properties") or {}).get("storageProfile") or {}).get("osDisk") or {}
    return ImageItem(
        id=str(image.get("id", "")),
        name=str(image.get("name", "")),
        location=str(image.get("location", "")),
        os_type=os_disk.get("osType"),
        tags=dict(image.get("tags") or {}),
    )


def _list(subscription: str, group: str | None) -> list[ImageItem]:
    where = f"resource group {group}" if group else f"subscription {subscription}"
    images = _arm.compute(subscription).images
    with _arm.arm_errors(f"listing managed images in {where}"):
        try:
            found = images.list_by_resource_group(group) if group else images.list()
            return [image_item(i.as_dict()) for i in found]
        except ResourceNotFoundError as exc:
            raise InvalidRequest(f"scope {where} (subscription {subscription}) was not found: {exc.message}") from exc


def _read(image_id: str) -> ImageItem:
    image = ImageId.parse(image_id)
    with _arm.arm_errors(f"reading managed image {image}"):
        try:
            found = _arm.compute(image.subscription_id).images.get(image.resource_group, image.name)
        except ResourceNotFoundError:
            return ImageItem(id=str(image), name=image.name)  # the plan reports it missing
    return image_item(found.as_dict())


@bp.activity_trigger(input_name="payload")
def list_scope_images(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"scope"|"imageIds", "filters"}`` -> ``{"images": [ImageItem]}``, sorted by ID, filters applied."""
    filters = ImageFilters.model_validate(payload.get("filters") or {})
    if payload.get("imageIds"):
        items = [_read(i) for i in payload["imageIds"]]
    else:
        scope = Scope.model_validate(payload["scope"])
        items = [item for sub, group in scope.listings() for item in _list(sub, group)]
        items = [i for i in items if filters.matches(i)]
    unique = {id_key(i.id): i for i in items}
    if len(unique) > MAX_FLEET_IMAGES:
        raise InvalidRequest(
            f"the scope holds {len(unique)} matching images; a plan or batch takes at most {MAX_FLEET_IMAGES}: "
            "narrow it with filters or split the scope"
        )
    logger.info("listed %d images (%d matching)", len(items), len(unique))
    return {"images": [unique[k].model_dump(mode="json") for k in sorted(unique)]}


@bp.activity_trigger(input_name="payload")
def list_gallery_sources(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"galleryId"}`` -> ``{"sources": {source image ID key: [version IDs]}}``; empty without gallery."""
    gallery = GalleryId.parse(payload["galleryId"])
    client = _arm.compute(gallery.subscription_id)
    sources: dict[str, list[str]] = defaultdict(list)
    with _arm.arm_errors(f"listing the image definitions of gallery {gallery}"):
        try:
            found = client.gallery_images.list_by_gallery(gallery.resource_group, gallery.name)
            definitions = [str(d.name) for d in found]
        except ResourceNotFoundError:
            return {"sources": {}}
        for name in definitions:
            for version in client.gallery_image_versions.list_by_gallery_image(
                gallery.resource_group, gallery.name, name
            ):
                facts = arm_json.version_facts(version.as_dict())
                if facts.source_id and not facts.being_deleted:  # on its way out: not a migrated copy
                    sources[id_key(facts.source_id)].append(facts.id)
    return {"sources": {k: sorted(v) for k, v in sources.items()}}


@bp.activity_trigger(input_name="payload")
def list_scale_set_references(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"imageIds"}`` -> ``{"references": {image ID key: [scale set IDs]}}`` (only images referenced).

    One listing per subscription (or resource group, per ``SCALE_SET_CHECK_SCOPE``) instead of one per image."""
    per_group = _arm.settings().scale_set_scope == "resource-group"
    wanted: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for text in payload["imageIds"]:
        image = ImageId.parse(text)
        wanted[(image.subscription_id, image.resource_group if per_group else None)].add(image.key)
    references: dict[str, list[str]] = defaultdict(list)
    for (subscription, group), keys in sorted(wanted.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        client = _arm.compute(subscription).virtual_machine_scale_sets
        with _arm.arm_errors(f"listing scale sets in {group or subscription}"):
            try:
                found = list(client.list(group) if group else client.list_all())
            except ResourceNotFoundError:
                found = []
        for scale_set in found:
            ref = id_key(arm_json.scale_set_image_reference(scale_set.as_dict()) or "")
            if ref in keys:
                references[ref].append(str(scale_set.id))
    return {"references": dict(references)}


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def get_active_migrations(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """``{"instanceIds"}`` -> ``{"active": {instance ID: runtime status}}`` for those that are active now."""
    wanted = set(payload["instanceIds"])
    statuses = await all_instances(client, prefix=PREFIX, runtime_statuses=sorted(ACTIVE_RUNTIME_STATUSES))
    active = {
        str(s.instance_id): s.runtime_status.name
        for s in statuses
        if s.instance_id in wanted and s.runtime_status is not None
    }
    return {"active": active}


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def cancel_migrations(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Raise the cancel event (``{"instanceIds", "event", "batchId"}``) on each instance: ``canceled``, or left
    alone because it has ``ended`` or is ``missing`` (not found: never started, purged, or not visible yet)."""
    canceled: list[str] = []
    ended: list[str] = []
    missing: list[str] = []
    data = {"at": datetime.now(UTC).isoformat(), "batchId": payload.get("batchId")}
    for instance_id in payload["instanceIds"]:
        try:
            await client.raise_event(instance_id, payload["event"], data)
            canceled.append(instance_id)
        except Exception as exc:  # the SDK raises a plain Exception; only "gone" and "not found" are answers
            gone = raise_refused(str(exc))
            if gone is None:
                raise
            logger.info("not canceling %s: %s", instance_id, exc)
            (missing if gone == "missing" else ended).append(instance_id)
    return {"canceled": canceled, "ended": ended, "missing": missing}


def raise_refused(message: str) -> str | None:
    """Why the SDK's ``raise_event`` refused (its exception text): ``ended`` (410), ``missing`` (404), else None."""
    if " is gone" in message:
        return "ended"
    if message.startswith("No instance with ID"):
        return "missing"
    return None


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def read_inventory(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """``{"inventoryId", "start", "count"}`` -> ``{"entries": [...]}``: queued entries ``q`` in ``[start, start +
    count)`` (fewer at the end of the queue)."""
    status = await client.get_status(payload["inventoryId"])
    runtime = status.runtime_status.name if status and status.runtime_status else None
    if runtime != "Completed" or not isinstance(status.output, dict):
        raise InvalidRequest(f"the inventory {payload['inventoryId']} is not available ({runtime})")
    return {"entries": queued_entries(status.output, int(payload["start"]), int(payload["count"]))}
