"""The fleet orchestrators' custom status stays under the host's 16 KB limit (UTF-16) for the largest input they
accept (10,000 images, 100 running at once, 80-character names), and a plan that meets something unexpected ends
failed with the reason."""

from __future__ import annotations

import json
from typing import Any

from devhost.engine import Outcome
from migration.batch import BatchLedger
from migration.fleet import MAX_CONCURRENCY, MAX_FLEET_IMAGES
from migration.plan import build_plan
from migration.request import MigrationRequest
from migration.status import CUSTOM_STATUS_LIMIT_BYTES, utf16_size
from tests.app_functions import functions
from tests.devhost.minihost import MiniHost, entity_handles_of, handles_of
from tests.migration.factories import GALLERY_ID, SUB, settings, source

GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-images"
LONG_FAILURE = "replication failed in " + "; ".join(f"region{i}: the storage quota was exceeded" for i in range(50))


class _App:
    @staticmethod
    def get_functions() -> list[Any]:
        return functions()


def _images(count: int) -> list[dict[str, Any]]:
    names = [f"img-{i:04d}-" + "x" * 71 for i in range(count)]  # ARM's longest image name: 80 characters
    return [
        {"id": f"{GROUP}/providers/Microsoft.Compute/images/{n}", "name": n, "location": "westus2", "tags": {}}
        for n in names
    ]


def test_a_batch_of_the_largest_size_keeps_its_custom_status_under_the_limit() -> None:
    """The batch's custom status (``BatchLedger.status``) at its largest: 10,000 images, 100 running with the longest
    instance IDs, every outcome and phase counted (the whole batch is driven through the engine at this cap in
    ``test_batch_rounds.py``)."""
    ledger = BatchLedger(
        batch_id="batch-" + "b" * 32,
        max_concurrency=MAX_CONCURRENCY,
        created_at="2026-12-07T09:30:00Z",
        images=MAX_FLEET_IMAGES,
        queued=MAX_FLEET_IMAGES,
    )
    entries = [
        {"id": item["id"], "name": item["name"], "q": q, "instanceId": f"mig-{item['name'][:40]}-{q:016x}"}
        for q, item in enumerate(_images(MAX_FLEET_IMAGES))
    ]
    sizes = []
    for start in range(0, MAX_FLEET_IMAGES, MAX_CONCURRENCY):
        ledger.start(entries[start : start + MAX_CONCURRENCY], "2026-12-07T09:31:00Z")
        sizes.append(utf16_size(ledger.status()))
        for q in range(start, start + MAX_CONCURRENCY):
            ledger.ended(q, ("succeeded", "failed", "canceled", "skipped")[q % 4], ("done", "replicating")[q % 2])
    counts = ledger.counts()
    assert (counts["total"], counts["failed"], counts["skipped"]) == (MAX_FLEET_IMAGES, 2500, 2500)
    assert max(sizes) < CUSTOM_STATUS_LIMIT_BYTES // 4, max(sizes)


def test_the_batch_status_lists_the_first_running_migrations_and_counts_the_others() -> None:
    ledger = BatchLedger(batch_id="batch-1", max_concurrency=MAX_CONCURRENCY, created_at="t0", images=150, queued=150)
    ledger.start([{"q": q, "instanceId": f"mig-{q}"} for q in range(100)], "t1")
    status = ledger.status()
    assert (len(status["running"]), status["runningOmitted"], status["counts"]["running"]) == (20, 80, 100)


def _recording(handle: Any, statuses: list[Any]) -> Any:
    def call(body: str) -> str:
        answer = str(handle(body))
        state = json.loads(answer)
        if "customStatus" in state:
            statuses.append(state["customStatus"])
        return answer

    return call


def _plan_for(payload: dict[str, Any]) -> dict[str, Any]:
    req = MigrationRequest.model_validate(payload["request"])
    image = source(id=req.source_image_id, name=req.source_image_id.rsplit("/", 1)[-1])
    plan = build_plan(req, source=image, gallery_location="westus2", definition=None, versions=[], settings=settings())
    return plan.model_dump(mode="json")


def _plan(count: int, plan_migration: Any) -> tuple[Any, list[Any]]:
    """The plan of ``count`` images through the engine: its inventory and chunks run inline; ``read_inventory``
    answers from the same listing (every image planned: no tags, no versions, no active migration)."""
    statuses: list[Any] = []
    functions_ = handles_of(_App)
    handles = {
        "plan_migrations": _recording(functions_["plan_migrations"], statuses),
        "fleet_inventory": functions_["fleet_inventory"],
        "plan_chunk": functions_["plan_chunk"],
    }
    listed = sorted(_images(count), key=lambda i: i["id"].lower())
    queued = [{"id": i["id"], "name": i["name"], "q": q, "instanceId": f"mig-{q}"} for q, i in enumerate(listed)]
    activities = {
        "list_scope_images": lambda _: {"images": _images(count)},
        "list_gallery_sources": lambda _: {"sources": {}},
        "get_active_migrations": lambda _: {"active": {}},
        "list_scale_set_references": lambda _: {"references": {}},
        "read_inventory": lambda p: {"entries": queued[p["start"] : p["start"] + p["count"]]},
        "plan_migration": plan_migration,
    }
    data = {
        "settings": settings().model_dump(mode="json"),
        "fleet": {"scope": {"resourceGroups": [GROUP]}},
        "options": {"galleryId": GALLERY_ID},
    }
    host = MiniHost(handles, activities, entities=entity_handles_of(_App))
    return host.run("plan_migrations", data, instance_id="plan-1"), statuses


def test_a_plans_custom_status_is_a_few_counters_whatever_the_scope() -> None:
    run, statuses = _plan(250, _plan_for)
    assert run.outcome is Outcome.COMPLETED, run.output
    assert (run.output["status"], run.output["chunks"], run.output["counts"]["succeeded"]) == ("completed", 3, 250)
    assert run.output["images"] == []  # the rows are in the chunks' outputs, paged by the API
    assert {key for status in statuses for key in status} <= {"state", "images", "planned", "chunk"}


def test_a_plan_that_meets_something_unexpected_ends_failed_with_the_reason() -> None:
    run, _ = _plan(3, lambda payload: {"unexpected": "shape"})
    assert run.outcome is Outcome.COMPLETED, run.output
    assert (run.output["status"], run.output["error"]["code"]) == ("failed", "UnexpectedError")
    assert "validation errors for MigrationPlan" in run.output["error"]["message"]
