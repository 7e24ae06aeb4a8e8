"""Batches end to end: a plan first, then the batch; the report must match the plan for every image."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from migration.instance_ids import migration_instance_id
from migration.resource_ids import ImageId
from tests.e2e.world import GALLERY, SUB, eventually, gallery, image, image_id
from tests.fleet.fleet_world import FILTERS, GROUP_A, SCOPE, FleetWorld, mixed_fleet

pytestmark = pytest.mark.e2e


def test_a_batch_of_fifty_matches_its_plan_and_respects_the_cap(fleet: FleetWorld) -> None:
    scenario = mixed_fleet()
    fleet.seed_fleet(*scenario.resources)
    plan = fleet.plan(fleet.batch_body())
    planned = {row["sourceImageId"].lower(): row for row in plan["images"]}

    batch_id = fleet.start_batch(fleet.batch_body(maxConcurrency=5))
    report = fleet.finish_batch(batch_id)

    assert report["status"] == "completed"
    rows = {row["sourceImageId"].lower(): row for row in report["images"]}
    assert set(rows) == set(planned) == set(scenario.expected)
    for key, predicted in planned.items():
        actual = rows[key]
        assert actual["outcome"] == predicted["outcome"], (predicted, actual)
        assert (actual["error"] or {}).get("code") == (predicted["error"] or {}).get("code"), (predicted, actual)
        assert actual["sourceDeleted"] is predicted["sourceDeleted"], (predicted, actual)
        if predicted["outcome"] == "succeeded":
            assert (actual["definitionId"], actual["versionId"]) == (predicted["definitionId"], predicted["versionId"])
            assert actual["instanceId"] == migration_instance_id(ImageId.parse(actual["sourceImageId"]))
        if predicted["outcome"] == "skipped":
            assert actual["skipReason"] == predicted["skipReason"]
    assert report["counts"] == {
        "total": 50,
        "queued": 0,
        "running": 0,
        "succeeded": 44,
        "failed": 4,
        "canceled": 0,
        "skipped": 2,
        "notStarted": 0,
    }
    assert report["finishedByPhase"] == {"done": 44, "preflight": 4}
    # The devhost's durable records: never more than the cap of migrations at once, and the cap was used.
    assert fleet.peak_running([row["instanceId"] for row in report["images"] if row["outcome"] != "skipped"]) == 5
    kept = rows[image_id("app-010", group=GROUP_A).lower()]
    assert "no-scale-set-uses-it" in kept["sourceKeptReason"]
    assert fleet.exists(kept["sourceImageId"])
    assert not fleet.exists(image_id("app-001", group=GROUP_A))
    assert all(fleet.exists(left_out) for left_out in scenario.left_out)

    summary = fleet.api("GET", f"batches/{batch_id}").json()
    assert (summary["status"], summary["runtimeStatus"]) == ("completed", "Completed")
    assert summary["counts"] == report["counts"]
    csv_response = fleet.api("GET", f"batches/{batch_id}/report", params={"format": "csv", "top": "1000"})
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "Link" not in csv_response.headers
    table = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [(r["sourceImageId"], r["outcome"], r["versionId"]) for r in table] == [
        (r["sourceImageId"], r["outcome"], r["versionId"] or "") for r in report["images"]
    ]
    assert fleet.report(batch_id, top=7) == {**report, "count": 50}  # the same rows, however it is paged


def test_cancel_stops_new_starts_and_cancels_the_running(fleet: FleetWorld) -> None:
    names = [f"app-{n:03d}" for n in range(1, 7)]
    fleet.seed_fleet(gallery(), *(image(n, group=GROUP_A) for n in names))
    host = fleet.stack.host
    host.clock(auto_advance=False)  # hold virtual time: the first two stay in replication
    batch_id = fleet.start_batch({"scope": SCOPE, "filters": FILTERS, "galleryId": GALLERY, "maxConcurrency": 2})
    fleet.wait_for_instance(batch_id)
    running = host.wait_until(batch_id, lambda s: len((s.get("customStatus") or {}).get("running", [])) == 2)
    children = running["customStatus"]["running"]
    for child in children:
        host.wait_until(child, lambda s: (s.get("customStatus") or {}).get("phase") == "replicating")
    summary = fleet.api("GET", f"batches/{batch_id}").json()
    assert summary["runningByPhase"] == {"replicating": 2}
    live = fleet.report(batch_id)  # readable while the batch runs
    assert (live["status"], live["finishedAt"]) == ("running", None)
    assert [row["outcome"] for row in live["images"]] == ["running", "running", "queued", "queued", "queued", "queued"]
    assert {row["instanceId"] for row in live["images"][:2]} == set(children)

    response = fleet.api("POST", f"batches/{batch_id}/cancel")
    assert response.status_code == 202, response.text
    host.clock(auto_advance=True)
    report = fleet.finish_batch(batch_id)

    assert report["status"] == "canceled"
    outcomes = {row["name"]: row["outcome"] for row in report["images"]}
    assert sum(1 for o in outcomes.values() if o == "canceled") == 2
    assert sum(1 for o in outcomes.values() if o == "not-started") == 4
    assert all(fleet.exists(image_id(n, group=GROUP_A)) for n in names)  # no source deleted
    for child in children:
        assert (host.status(child) or {})["output"]["outcome"] == "canceled"
    again = fleet.api("POST", f"batches/{batch_id}/cancel")
    assert again.status_code == 409
    assert again.json()["title"] == "Batch Not Running"


def test_a_batch_says_when_its_listing_and_its_migrations_wait_for_arm_budget(fleet: FleetWorld) -> None:
    """The ARM budget is shared by all of the app's work (issue 16): when it is short, a batch's summary says so,
    for its listing (the message) and for its running migrations (how many wait, and each one's wait)."""
    names = [f"app-{n:03d}" for n in range(1, 4)]
    fleet.seed_fleet(gallery(), *(image(n, group=GROUP_A) for n in names))
    host = fleet.stack.host
    host.clock(auto_advance=False)
    fleet.book_the_budget(SUB)
    batch_id = fleet.start_batch({"scope": SCOPE, "filters": FILTERS, "galleryId": GALLERY, "maxConcurrency": 2})

    def summary_where(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        def answer() -> dict[str, Any] | None:
            summary = fleet.api("GET", f"batches/{batch_id}").json()
            return summary if check(summary) else None

        found = eventually(answer, timeout=30)
        assert found, fleet.api("GET", f"batches/{batch_id}").json()
        return dict(found)

    listing = summary_where(lambda s: bool(s.get("message")))
    assert listing["status"] == "listing"
    assert listing["message"].startswith("waiting for ARM budget until ")
    assert listing["waitingForArmBudget"] == 0

    fleet.book_again_after_listing(SUB)
    running = summary_where(lambda s: s.get("waitingForArmBudget") == 2)
    assert running["status"] == "running"
    assert "message" not in running
    assert [r["waiting"][: len("waiting for ARM budget until ")] for r in running["running"]] == [
        "waiting for ARM budget until "
    ] * 2


def test_a_batch_skips_an_image_a_tag_trigger_is_migrating(fleet: FleetWorld) -> None:
    fleet.seed_fleet(gallery(), image("app-001", group=GROUP_A), image("app-002", group=GROUP_A))
    fleet.stack.subscribe()  # the tag trigger needs the events
    host = fleet.stack.host
    host.clock(auto_advance=False)
    tagged = image_id("app-001", group=GROUP_A)
    instance = fleet.tag_for_migration(tagged, **{"migrate-delete-source": "never"})
    fleet.wait_for_instance(instance)
    fleet.step_to_phase(instance, "replicating")  # a held clock: step it past any wait for ARM budget

    batch_id = fleet.start_batch(fleet.batch_body())
    host.clock(auto_advance=True)
    report = fleet.finish_batch(batch_id)

    rows = {row["name"]: row for row in report["images"]}
    assert rows["app-001"]["outcome"] == "skipped"
    assert rows["app-001"]["skipReason"] in (
        "being migrated: its migration instance is Running",
        "being migrated: tag migration-status=running (remove the tag if no migration is in progress)",
    )
    assert rows["app-002"]["outcome"] == "succeeded"
    assert fleet.finish(instance)["output"]["outcome"] == "succeeded"
    assert fleet.versions_of("app-001") == ["1.0.0"]  # migrated once, by the tag trigger


def test_a_batch_over_a_missing_resource_group_fails_with_the_reason_and_starts_nothing(fleet: FleetWorld) -> None:
    fleet.seed_fleet(gallery())
    missing = {"resourceGroups": ["/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-nope"]}
    batch_id = fleet.start_batch({"scope": missing, "galleryId": GALLERY})
    report = fleet.finish_batch(batch_id)
    assert report["status"] == "failed"
    assert report["error"]["code"] == "InvalidRequest"
    assert report["error"]["message"].startswith("scope resource group rg-nope")
    assert report["images"] == []
    summary = fleet.api("GET", f"batches/{batch_id}").json()
    assert (summary["status"], summary["error"]) == ("failed", report["error"])
    assert fleet.instances() == []
    listed = fleet.api("GET", "batches").json()
    assert [b["id"] for b in listed["value"]] == [batch_id]


def test_unknown_batches_are_404(fleet: FleetWorld) -> None:
    for route in ("batches/batch-" + "0" * 32, "batches/plan-x/report", "batches/mig-x/cancel"):
        method = "POST" if route.endswith("cancel") else "GET"
        response = fleet.api(method, route)
        assert response.status_code == 404
        assert response.json()["title"] == "Batch Not Found"
    response = fleet.api("GET", "batches/batch-" + "0" * 32 + "/report", params={"format": "xml"})
    assert response.status_code == 400
    assert response.json()["detail"] == "format must be json or csv, not 'xml'"


def test_a_batch_migrates_again_an_image_whose_earlier_migration_was_canceled(fleet: FleetWorld) -> None:
    source = image_id("app-001", group=GROUP_A)
    fleet.seed_fleet(gallery(), image("app-001", group=GROUP_A))
    host = fleet.stack.host
    host.clock(auto_advance=False)
    first = fleet.start_http({"sourceImageId": source, "galleryId": GALLERY})
    assert first.status_code == 202, first.text
    instance = first.json()["id"]
    fleet.step_to_phase(instance, "replicating")  # a held clock: step it past any wait for ARM budget
    assert fleet.api("POST", f"migrations/{instance}/cancel").status_code == 202
    host.clock(auto_advance=True)
    assert fleet.finish(instance)["output"]["outcome"] == "canceled"
    # The rerun starts at the same virtual instant: the first run's cancel tag must not be read as its own.
    report = fleet.finish_batch(fleet.start_batch(fleet.batch_body()))

    (row,) = report["images"]
    assert (row["outcome"], row["instanceId"], row["sourceDeleted"]) == ("succeeded", instance, True), row
    # the canceled run's 1.0.0 is still being deleted (Azure: about two minutes), so the rerun builds 1.0.1
    assert fleet.versions_of("app-001") == ["1.0.1"]
    assert not fleet.exists(source)
