"""The batch's bookkeeping activities, called as the worker calls them, with the SDK's durable client bound to a
live devhost: at-least-once is safe (a second start of an item changes nothing), and a batch that has ended or
never existed is an answer, not an error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from activities.batch_items import notify_batch, start_batch_items
from activities.inventory import cancel_migrations, read_inventory
from migration.batch import item_instance_id
from migration.errors import InvalidRequest
from migration.settings import Settings
from tests.e2e.world import GALLERY, image_id
from tests.fleet.fleet_world import GROUP_A, FleetWorld

pytestmark = pytest.mark.e2e
BATCH = "batch-" + "c" * 32
# One loop for every call, as the worker has: the SDK keeps its aiohttp session on the loop that created it.
_LOOP = asyncio.new_event_loop()


def _run(world: FleetWorld, activity: Any, payload: dict[str, Any]) -> Any:
    """Call an activity as the worker does: the durable client binding arrives as its JSON text."""
    binding = {
        "taskHubName": world.stack.host.info["taskHub"],
        "creationUrls": {},
        "managementUrls": {},
        "rpcBaseUrl": world.stack.host.info["rpcBaseUrl"],
    }
    return _LOOP.run_until_complete(activity(payload=payload, client=json.dumps(binding)))


def _entry(q: int) -> dict[str, Any]:
    name = f"app-{q:03d}"
    return {"id": image_id(name, group=GROUP_A), "name": name, "q": q, "instanceId": f"mig-{name}-{q:016x}"}


def test_starting_items_twice_starts_each_once(fleet: FleetWorld) -> None:
    # Options every item refuses (an unknown region): the items end at once without a migration.
    payload = {
        "batchId": BATCH,
        "classifiedAt": "2026-12-07T09:30:00+00:00",
        "settings": Settings.from_env({}).model_dump(mode="json"),
        "options": {"galleryId": GALLERY, "targetRegions": [{"name": "nowhere"}]},
        "items": [{"entry": _entry(q), "runId": f"r{q}"} for q in (0, 1)],
    }
    first = _run(fleet, start_batch_items, payload)
    assert first == {"started": [0, 1], "existing": []}
    for q in (0, 1):
        fleet.finish(item_instance_id(BATCH, q))
    created = {q: (fleet.stack.host.status(item_instance_id(BATCH, q)) or {})["createdTime"] for q in (0, 1)}

    again = _run(fleet, start_batch_items, payload)  # the activity ran again after a crash
    assert again == {"started": [], "existing": [0, 1]}
    for q in (0, 1):
        status = fleet.stack.host.status(item_instance_id(BATCH, q)) or {}
        assert status["createdTime"] == created[q]  # not replaced: a completed item is never run again
        assert status["output"]["outcome"] == "failed"
        assert status["output"]["error"]["code"] == "InvalidRequest"


def test_notifying_a_batch_that_is_not_there_is_an_answer(fleet: FleetWorld) -> None:
    payload = {"batchId": BATCH, "event": "image-0", "result": {"q": 0, "outcome": "succeeded", "phase": "done"}}
    assert _run(fleet, notify_batch, payload) == {"delivered": False}


def test_cancel_tells_missing_from_ended(fleet: FleetWorld) -> None:
    done = fleet.stack.host.start("migrate_batch_item", {"bad": "input"}, instance_id="bitem-x-00000")
    fleet.stack.host.wait(done)
    payload = {"instanceIds": ["bitem-x-00000", "bitem-nowhere-00000"], "event": "cancel", "batchId": BATCH}
    answer = _run(fleet, cancel_migrations, payload)
    assert answer == {"canceled": [], "ended": ["bitem-x-00000"], "missing": ["bitem-nowhere-00000"]}


def test_a_queue_without_its_inventory_is_refused(fleet: FleetWorld) -> None:
    with pytest.raises(InvalidRequest, match="is not available"):
        _run(fleet, read_inventory, {"inventoryId": "binv-" + "c" * 32, "start": 0, "count": 10})
