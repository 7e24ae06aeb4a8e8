"""A plan's or batch's inventory: every image of its scope, classified once, written once.

The ``fleet_inventory`` sub-orchestration lists and classifies the scope and returns this document as its output,
which stays in the task hub under ``binv-<key>`` (a batch) or ``pinv-<key>`` (a plan). Entries are sorted by image
ID; the images to migrate (or plan) are numbered ``q`` = 0, 1, ... in that order, with their per-image instance ID;
the others say why they are left out (``skipReason``) or why their request is invalid (``error``). The orchestrators
carry only a cursor into it and read it a window at a time (activity ``read_inventory``), so their own histories and
inputs stay small whatever the size of the scope; reports and plan pages read it slice by slice.
"""

from __future__ import annotations

from typing import Any

from migration.fleet import BATCH_PREFIX, PLAN_PREFIX, Candidate
from migration.resource_ids import id_key

_INVENTORY_PREFIXES = {BATCH_PREFIX: "binv-", PLAN_PREFIX: "pinv-"}


def fleet_key(fleet_id: str) -> str:
    """The hex part of ``batch-<hex>`` or ``plan-<hex>``."""
    return fleet_id.split("-", 1)[1]


def inventory_instance_id(fleet_id: str) -> str:
    prefix = next(p for p in _INVENTORY_PREFIXES if fleet_id.startswith(p))
    return _INVENTORY_PREFIXES[prefix] + fleet_key(fleet_id)


def build_inventory(candidates: list[Candidate], *, classified_at: str) -> dict[str, Any]:
    """The inventory document of classified candidates (``classified_at``: the moment their requests were resolved,
    so that whoever builds an image's request again gets the same one)."""
    entries: list[dict[str, Any]] = []
    queued = 0
    for candidate in sorted(candidates, key=lambda c: id_key(c.item.id)):
        entry: dict[str, Any] = {"id": candidate.item.id, "name": candidate.item.name}
        if candidate.skip_reason:
            entry["skipReason"] = candidate.skip_reason
        elif candidate.request is None:
            assert candidate.error is not None
            entry["error"] = candidate.error.model_dump(mode="json", by_alias=True)
        else:
            entry |= {"q": queued, "instanceId": candidate.instance_id}
            queued += 1
        entries.append(entry)
    return {"entries": entries, "images": len(entries), "queued": queued, "classifiedAt": classified_at}


def queued_entries(inventory: dict[str, Any], start: int, count: int) -> list[dict[str, Any]]:
    """Entries ``q`` in ``[start, start + count)`` (the ``q`` are consecutive in entry order)."""
    return [e for e in inventory.get("entries") or [] if "q" in e and start <= e["q"] < start + count]


def left_out(inventory: dict[str, Any]) -> tuple[int, int]:
    """(skipped, refused) entries: images left out, and images whose request is invalid."""
    entries = inventory.get("entries") or []
    skipped = sum(1 for e in entries if "skipReason" in e)
    return skipped, sum(1 for e in entries if "error" in e)
