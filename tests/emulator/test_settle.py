"""The settler in process: it looks at an operation only when the clock reaches the next instant its state can
change, however often it runs in between (it runs before and after every request)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from emulator.clock import Clock, iso
from emulator.compute.models import ComputeBackend
from emulator.core.backend import Context
from emulator.core.store import Store
from emulator.resources.models import ResourcesBackend
from emulator.responses import Backends
from emulator.seed import apply_seed
from emulator.settings import Settings
from tests.emulator.conftest import DEMO_SEED, GALLERY, IMAGE_ID, RG_ID
from tests.emulator.helpers import definition_body, version_body

T0 = datetime(2030, 1, 1, tzinfo=UTC)
API = "2025-03-03"
DEFINITION = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}/images/web"
VERSIONS = 20
STAGGER = 10  # seconds between two submissions
DURATION = 600  # per region, after 30 s queued


def backends(store: Store, clock: Clock) -> Backends:
    settings = Settings().merged(
        {"replication": {"fixedSeconds": DURATION, "queuedSeconds": 30}, "lro": {"gallerySeconds": 60}}
    )
    ctx = Context(store, clock, settings)
    return Backends(ctx, ComputeBackend(ctx), ResourcesBackend(ctx))


def world(store: Store | None = None) -> tuple[Backends, Clock]:
    clock = Clock("virtual", T0)
    b = backends(store or Store(None), clock)
    seed: dict[str, Any] = json.loads(DEMO_SEED.read_text())
    image = next(r for r in seed["resources"] if r["id"] == IMAGE_ID)
    for i in range(VERSIONS):  # one source each: a source copied by a version in flight is in use
        seed["resources"].append({**copy.deepcopy(image), "id": f"{IMAGE_ID}-{i}"})
    apply_seed(b, seed)
    b.compute.galleries.create_or_update_gallery_image(DEFINITION, definition_body(), api_version=API)
    clock.advance_by(60)
    b.compute.settle()
    return b, clock


def submit_versions(b: Backends, clock: Clock) -> list[str]:
    ids = []
    for i in range(VERSIONS):
        version_id = f"{DEFINITION}/versions/1.0.{i}"
        body = version_body(("westus2", "eastus"), source=f"{IMAGE_ID}-{i}")
        b.compute.versions.create_or_update_gallery_image_version(version_id, body, api_version=API)
        b.compute.settle()  # as after a request
        ids.append(version_id)
        clock.advance_by(STAGGER)
    return ids


def states(b: Backends, ids: list[str]) -> list[str]:
    return [b.compute.versions.get_gallery_image_version(i)["properties"]["provisioningState"] for i in ids]


def test_settle_looks_only_at_operations_whose_instant_has_come() -> None:
    b, clock = world()
    compute = b.compute
    ids = submit_versions(b, clock)
    assert compute.evaluations == 1 + VERSIONS  # the definition, then each version once, when submitted
    first_done = T0 + timedelta(seconds=60 + 30 + DURATION)  # the definition took 60 s
    clock.advance_to(first_done - timedelta(seconds=1))
    for _ in range(1000):
        compute.settle()
    assert compute.evaluations == 1 + VERSIONS
    assert set(states(b, ids)) == {"Creating"}
    clock.advance_to(first_done)
    compute.settle()
    assert compute.evaluations == 2 + VERSIONS  # exactly the one whose regions finished
    assert states(b, ids)[:2] == ["Succeeded", "Creating"]
    clock.advance_by(STAGGER * VERSIONS)
    compute.settle()
    assert compute.evaluations == 1 + 2 * VERSIONS
    assert set(states(b, ids)) == {"Succeeded"}
    assert b.ctx.ops.scheduled() == 0


def test_a_changed_plan_gets_another_look() -> None:
    """A stalled region has no next instant, so the operation is not looked at again by itself; a source change
    that fails the unfinished regions changes its plan and wakes it up."""
    b, clock = world()
    b.compute.add_replication_fault({"region": "eastus", "mode": "stall", "versionPattern": r"1\.0\.0$"})
    [stalled, *_] = submit_versions(b, clock)
    clock.advance_by(30 + DURATION)
    b.compute.settle()
    assert states(b, [stalled]) == ["Creating"]
    looked = b.compute.evaluations
    clock.advance_by(3600)
    b.compute.settle()
    assert b.compute.evaluations == looked  # stalled: nothing can change by itself
    b.compute.images.delete(f"{IMAGE_ID}-0", api_version=API)  # the source goes: eastus fails now
    b.compute.settle()
    version = b.compute.versions.get_gallery_image_version(stalled, expand="ReplicationStatus")
    assert version["properties"]["provisioningState"] == "Failed"
    assert [s["state"] for s in version["properties"]["replicationStatus"]["summary"]] == ["Completed", "Failed"]


def test_clock_driven_completion_is_not_saved_and_is_recomputed_after_a_crash(tmp_path: Path) -> None:
    """Replication completing (and the operation with it) is a function of the stored plan and the clock: settling
    it writes nothing, and a process that loads the state directory at the same instant computes the same."""
    store = Store(tmp_path)
    b, clock = world(store)
    ids = submit_versions(b, clock)
    store.save()  # what the last request saved
    clock.advance_by(30 + DURATION + STAGGER * VERSIONS)
    store.data["clock"] = iso(clock.now())
    store.mark_section("clock")
    store.save()  # what POST /_emulator/clock saves
    saved = store.stats()
    b.compute.settle()
    assert set(states(b, ids)) == {"Succeeded"}
    store.save()  # as after the read that settled them
    assert store.stats() == saved
    expected = orjson.loads(orjson.dumps({k: store.data[k] for k in ("resources", "operations")}))

    again = Store(tmp_path)  # kill -9, restart
    restored = Clock("virtual")
    restored.restore(again.data["clock"])
    revived = backends(again, restored)
    assert {op["status"] for op in again.operations.values()} == {"InProgress", "Succeeded"}
    revived.compute.settle()
    assert {k: again.data[k] for k in ("resources", "operations")} == expected
