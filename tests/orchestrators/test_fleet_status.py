"""The fleet orchestrators' custom status stays under the host's 16 KB limit (UTF-16) for the largest input they
accept (1,000 images, 100 running at once, 80-character names, long failure messages), and a plan that meets
something unexpected ends failed with the reason."""

from __future__ import annotations

import json
from typing import Any

from devhost.engine import Outcome
from migration.batch import BatchLedger, QueuedImage
from migration.fleet import MAX_CONCURRENCY, MAX_FLEET_IMAGES, ImageItem
from migration.plan import build_plan
from migration.request import MigrationRequest
from migration.status import CUSTOM_STATUS_LIMIT_BYTES, ErrorInfo, utf16_size
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


def _queued(image: ImageItem, index: int) -> QueuedImage:
    instance_id = f"mig-{image.name}-{index:016x}"
    return QueuedImage(source_image_id=image.id, name=image.name, instance_id=instance_id, request={})


def test_a_batch_of_the_largest_size_keeps_its_custom_status_under_the_limit() -> None:
    """The batch's ledger driven through a whole 1,000-image batch at the highest cap (the orchestrator publishes
    ``ledger.status`` after every change; replaying 1,000 children in a unit test would take minutes): some
    images skipped or refused with long reasons, the rest run 100 at a time and fail with long messages."""
    ledger = BatchLedger("batch-" + "b" * 40, max_concurrency=MAX_CONCURRENCY)
    sizes: list[int] = []

    def publish() -> None:
        sizes.append(utf16_size(ledger.status(pollFloorSeconds=12.5, createdAt="2026-12-07T09:30:00Z")))

    for index, item in enumerate(_images(MAX_FLEET_IMAGES)):
        image = ImageItem.model_validate(item)
        if index % 10 == 0:
            ledger.skip(image, "being migrated: " + "x" * 900)
        elif index % 10 == 1:
            ledger.refuse(image, ErrorInfo(code="InvalidRequest", message=LONG_FAILURE))
        else:
            ledger.enqueue(_queued(image, index))
    ledger.state = "running"
    failure = {
        "outcome": "failed",
        "phase": "replicating",
        "error": {"code": "ReplicationFailed", "message": LONG_FAILURE},
    }
    while ledger.busy:
        for queued in ledger.take():
            ledger.started(queued, "2026-12-07T09:31:00Z")
        publish()
        ledger.finished(next(iter(ledger.running)), failure, "2026-12-07T10:31:00Z")
        publish()
    counts = ledger.counts()
    assert (counts["total"], counts["failed"], counts["skipped"]) == (MAX_FLEET_IMAGES, 900, 100)
    assert max(sizes) < CUSTOM_STATUS_LIMIT_BYTES, max(sizes)


def test_the_batch_status_lists_the_first_running_children_and_counts_the_others() -> None:
    ledger = BatchLedger("batch-1", max_concurrency=MAX_CONCURRENCY)
    for index, item in enumerate(_images(150)):
        ledger.enqueue(_queued(ImageItem.model_validate(item), index))
    for image in ledger.take():
        ledger.started(image, "2026-12-07T09:31:00Z")
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
    statuses: list[Any] = []
    handles = {"plan_migrations": _recording(handles_of(_App)["plan_migrations"], statuses)}
    activities = {
        "list_scope_images": lambda _: {"images": _images(count)},
        "list_gallery_sources": lambda _: {"sources": {}},
        "get_active_migrations": lambda _: {"active": {}},
        "list_scale_set_references": lambda _: {"references": {}},
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
    run, statuses = _plan(40, _plan_for)
    assert run.outcome is Outcome.COMPLETED, run.output
    assert (run.output["status"], len(run.output["images"])) == ("completed", 40)
    assert {key for status in statuses for key in status} <= {"state", "images", "planned"}


def test_a_plan_that_meets_something_unexpected_ends_failed_with_the_reason() -> None:
    run, _ = _plan(3, lambda payload: {"unexpected": "shape"})
    assert run.outcome is Outcome.COMPLETED, run.output
    assert (run.output["status"], run.output["error"]["code"]) == ("failed", "UnexpectedError")
    assert "ValidationError" in run.output["error"]["message"]
