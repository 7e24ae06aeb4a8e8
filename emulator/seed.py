"""Seed documents (``--seed FILE`` and ``POST /_emulator/seed``): subscriptions, resource groups and resources as
ARM JSON. Resources go through the same model methods as ARM requests (so the same rules hold) but land
directly in their final state: provisioningState Succeeded, replication completed."""

from __future__ import annotations

from typing import Any

from emulator.core import errors
from emulator.core.ids import parse
from emulator.responses import Backends

# Creation order: a parent before its children, a source image before versions built from it.
_ORDER = [
    "microsoft.compute/images",
    "microsoft.compute/galleries",
    "microsoft.compute/galleries/images",
    "microsoft.compute/galleries/images/versions",
    "microsoft.compute/virtualmachinescalesets",
]
SEED_API_VERSION = "2026-03-03"


def apply_seed(b: Backends, doc: dict[str, Any]) -> dict[str, list[str]]:
    created: dict[str, list[str]] = {"subscriptions": [], "resourceGroups": [], "resources": []}
    for sub in doc.get("subscriptions", []):
        sid = sub["subscriptionId"] if isinstance(sub, dict) else str(sub)
        b.resources.create_subscription(sid, sub.get("displayName") if isinstance(sub, dict) else None)
        created["subscriptions"].append(sid)
    for group in doc.get("resourceGroups", []):
        if "id" in group:
            rid = parse(group["id"])
            sid, name = rid.subscription, rid.resource_group or ""
        else:
            sid, name = group["subscriptionId"], group["name"]
        if sid.lower() not in b.ctx.store.subscriptions:
            b.resources.create_subscription(sid)
            created["subscriptions"].append(sid)
        result = b.resources.create_or_update_resource_group(sid, name, group)
        assert result.body is not None
        created["resourceGroups"].append(result.body["id"])
    resources = list(doc.get("resources", []))
    for body in resources:
        if "id" not in body:
            raise errors.InvalidParameter("Every seeded resource needs its full ARM 'id'.", target="id")
    resources.sort(
        key=lambda r: (
            _ORDER.index(parse(r["id"]).type.lower()) if parse(r["id"]).type.lower() in _ORDER else len(_ORDER)
        )
    )
    for body in resources:
        created["resources"].append(_create(b, body))
    b.compute.settle()
    return created


def _create(b: Backends, body: dict[str, Any]) -> str:
    rid = parse(body["id"])
    kind = rid.type.lower()
    c = b.compute
    if kind == "microsoft.compute/images":
        result = c.images.create_or_update(body["id"], body, api_version=SEED_API_VERSION, seeded=True)
    elif kind == "microsoft.compute/galleries":
        result = c.galleries.create_or_update_gallery(body["id"], body, api_version=SEED_API_VERSION, seeded=True)
    elif kind == "microsoft.compute/galleries/images":
        result = c.galleries.create_or_update_gallery_image(body["id"], body, api_version=SEED_API_VERSION, seeded=True)
    elif kind == "microsoft.compute/galleries/images/versions":
        result = c.versions.create_or_update_gallery_image_version(
            body["id"], body, api_version=SEED_API_VERSION, seeded=True
        )
    elif kind == "microsoft.compute/virtualmachinescalesets":
        result = c.machines.create_or_update_virtual_machine_scale_set(body["id"], body)
    else:  # any other type is stored as given (e.g. a resource to tag); no rules apply to it
        b.ctx.require_group(rid)
        canonical = b.ctx.canonical_id(rid)
        body = {**body, "id": str(canonical), "name": canonical.name, "type": rid.type}
        b.ctx.store.put(body, {"seeded": True})
        return str(canonical)
    assert result.body is not None
    return str(result.body["id"])
