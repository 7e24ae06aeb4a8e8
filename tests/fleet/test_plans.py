"""Dry-run plans end to end: what each image's migration would do, from ARM reads only."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.world import GALLERY, SUB, definition, definition_id, eventually, gallery, image, image_id, scale_set
from tests.fleet.fleet_world import FILTERS, GROUP_A, SCOPE, FleetWorld, mixed_fleet
from triggers.fleet_api import PLAN_WAIT_SECONDS

pytestmark = pytest.mark.e2e
PER_IMAGE = "each image of a scope gets its own image definition named after the image; omit this field"


def test_a_scope_plan_predicts_every_outcome_and_only_reads(fleet: FleetWorld) -> None:
    scenario = mixed_fleet()
    fleet.seed_fleet(*scenario.resources)
    since = fleet.stack.arm.request_summary()["lastSeq"]

    plan = fleet.plan({"scope": SCOPE, "filters": FILTERS, "galleryId": GALLERY})

    assert plan["status"] == "completed", plan
    rows = {row["sourceImageId"].lower(): row for row in plan["images"]}
    assert set(rows) == set(scenario.expected)  # the filters and the scope left the others out
    for key, expected in scenario.expected.items():
        row = rows[key]
        assert row["outcome"] == expected.outcome, row
        assert (row["error"] or {}).get("code") == expected.error_code, row
        assert row["sourceDeleted"] is expected.source_deleted, row
        shown = " ".join([row.get("skipReason") or "", (row["error"] or {}).get("message") or ""])
        shown += " ".join(str(c) for c in (row.get("deletion") or {}).get("checks", []))
        assert expected.reason in shown + ((row.get("deletion") or {}).get("reason") or ""), row
    assert plan["counts"] == {"images": 50, "succeeded": 44, "failed": 4, "skipped": 2, "sourceDeleted": 43}

    fresh = rows[image_id("app-001", group=GROUP_A).lower()]
    assert fresh["definitionAction"] == "create"
    assert fresh["definitionId"] == definition_id("app-001")
    assert (fresh["versionName"], fresh["versionAction"]) == ("1.0.0", "create")
    assert fresh["targetRegions"] == [{"name": "westus2", "replicaCount": 1}]
    assert {c["name"] for c in fresh["checks"]} >= {"source-succeeded", "data-disk-size", "same-region"}
    assert fresh["deletion"]["wouldDelete"] is True
    kept = rows[image_id("app-010", group=GROUP_A).lower()]["deletion"]
    assert kept["wouldDelete"] is False
    assert "virtualMachineScaleSets/web-vmss" in kept["reason"]
    too_big = rows[image_id("app-003", group=GROUP_A).lower()]
    assert [c["name"] for c in too_big["checks"] if not c["passed"]] == ["data-disk-size"]
    assert "LUN 1 (2048 GB)" in too_big["error"]["message"]

    requests = fleet.stack.arm.requests(since=since)
    assert requests, "the plan read nothing"
    assert {r["method"] for r in requests} == {"GET"}, sorted({(r["method"], r["operationId"]) for r in requests})
    assert len(fleet.instances()) == 0  # no migration was started


def test_one_image_plan_explains_why_the_source_would_be_kept(fleet: FleetWorld) -> None:
    source = image_id("single-01")
    fleet.seed_fleet(gallery(), image("single-01"), scale_set("uses-it", image=source))

    plan = fleet.plan({"sourceImageId": source, "galleryId": GALLERY, "replicationMode": "Shallow"})

    (row,) = plan["images"]
    assert (row["outcome"], row["sourceDeleted"]) == ("succeeded", False)
    failed = {c["name"] for c in row["deletion"]["checks"] if not c["passed"]}
    assert failed == {"full-replication", "no-scale-set-uses-it"}
    assert plan["sourceImageId"] == source
    assert plan["counts"]["images"] == 1

    fleet.stack.arm.reset(reseed=False)
    fleet.seed_fleet(gallery(), image("single-01"))
    approval = fleet.plan({"sourceImageId": source, "galleryId": GALLERY, "deletionMode": "after-approval"})
    deletion = approval["images"][0]["deletion"]
    assert (deletion["requiresApproval"], deletion["wouldDelete"]) == (True, False)
    assert deletion["reason"] == "deleted only if someone approves within the approval timeout"


def test_plan_of_an_image_into_an_incompatible_definition(fleet: FleetWorld) -> None:
    fleet.seed_fleet(gallery(), image("gen2-01"), definition("gen1", generation="V1"))
    plan = fleet.plan({"sourceImageId": image_id("gen2-01"), "galleryId": GALLERY, "definition": {"name": "gen1"}})
    (row,) = plan["images"]
    assert row["outcome"] == "failed"
    assert row["definitionAction"] == "incompatible"
    assert row["error"]["code"] == "DefinitionIncompatible"
    assert row["definitionProblems"] == ["definition Hyper-V generation is V1, the image's is V2"]


def test_a_plan_of_a_missing_resource_group_fails_with_the_reason(fleet: FleetWorld) -> None:
    fleet.seed_fleet(gallery())
    missing = f"/subscriptions/{SUB}/resourceGroups/rg-nope"
    plan = fleet.plan({"scope": {"resourceGroups": [missing]}, "galleryId": GALLERY})
    assert plan["status"] == "failed"
    assert plan["error"]["code"] == "InvalidRequest"
    assert "resource group rg-nope" in plan["error"]["message"]
    assert plan["images"] == []


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"galleryId": GALLERY}, "scope", "give either sourceImageId or scope"),
        ({"scope": {}, "galleryId": GALLERY}, "scope", "Value error, name at least one subscription or resource group"),
        (
            {"scope": {"subscriptions": ["nope"]}},
            "scope.subscriptions",
            "Value error, 'nope' is not a subscription ID (a GUID)",
        ),
        ({"scope": SCOPE, "definition": {"name": "shared"}}, "definition.name", PER_IMAGE),
        ({"scope": SCOPE, "maxConcurrency": 3}, "maxConcurrency", "only batches take a concurrency cap"),
        ({"scope": SCOPE, "filters": {"osType": "Solaris"}}, "filters.osType", "Input should be 'Windows' or 'Linux'"),
        ({"scope": SCOPE, "colour": "blue"}, "colour", "unknown field"),
        (
            {"scope": SCOPE, "version": "1.2"},
            "version",
            "'1.2' is not a valid version: use Major.Minor.Patch with digits only, e.g. 1.0.0",
        ),
    ],
)
def test_invalid_plan_requests_name_the_field(fleet: FleetWorld, body: dict, field: str, message: str) -> None:
    response = fleet.api("POST", "plans", json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert problem["title"] == "Invalid Request"
    assert [e["message"] for e in problem["errors"] if e["field"] == field] == [message], problem


def test_unknown_plans_are_404(fleet: FleetWorld) -> None:
    for plan_id in ("plan-" + "0" * 32, "batch-" + "0" * 32, "mig-x"):
        response = fleet.api("GET", f"plans/{plan_id}")
        assert response.status_code == 404
        assert response.json()["title"] == "Plan Not Found"


def test_a_quick_plan_answers_200_and_a_slow_one_202_after_the_short_wait(fleet: FleetWorld) -> None:
    """``POST /api/plans`` answers with the plan when it is ready within PLAN_WAIT_SECONDS, else 202 + Location;
    the slow plan is held at a devhost breakpoint (its image listing), not by a sleep."""
    fleet.seed_fleet(gallery(), image("quick-01"))
    body = {"sourceImageId": image_id("quick-01"), "galleryId": GALLERY}
    quick = fleet.api("POST", "plans", json=body)
    assert quick.status_code == 200, quick.text
    assert quick.json()["status"] == "completed"
    assert quick.headers["Location"].endswith(f"/api/plans/{quick.json()['id']}")

    host = fleet.stack.host
    point = host.break_at("list_scope_images", at="start")
    started = time.monotonic()
    slow = fleet.api("POST", "plans", json=body)
    waited = time.monotonic() - started
    assert slow.status_code == 202, slow.text
    assert waited >= PLAN_WAIT_SECONDS  # it waited the short wait out before answering 202
    assert host.wait_for_breakpoint(point["id"])["name"] == "list_scope_images"  # still held: not ready
    location = slow.headers["Location"]
    assert location.endswith(f"/api/plans/{slow.json()['id']}")
    assert fleet.api("GET", f"plans/{slow.json()['id']}").status_code == 202
    host.release_breakpoint(point["id"])
    ready = eventually(lambda: (r := fleet.api("GET", f"plans/{slow.json()['id']}")).status_code == 200 and r)
    assert ready, "the released plan never became ready"
    assert ready.json()["status"] == "completed"
    assert [row["sourceImageId"] for row in ready.json()["images"]] == [image_id("quick-01")]


def test_a_plan_of_several_chunks_pages_its_rows_in_image_order(fleet: FleetWorld) -> None:
    """130 images: two ``plan_chunk`` instances of 100; the rows come back page by page, in image-ID order, the same
    however they are paged."""
    names = [f"app-{n:03d}" for n in range(1, 131)]
    fleet.seed_fleet(gallery(), *(image(name, group=GROUP_A) for name in names))
    body = {"scope": {"resourceGroups": SCOPE["resourceGroups"][:1]}, "galleryId": GALLERY}

    plan = fleet.plan(body, timeout=180, top=37)

    assert (plan["status"], plan["chunks"]) == ("completed", 2), plan
    assert [row["name"] for row in plan["images"]] == names
    assert {row["outcome"] for row in plan["images"]} == {"succeeded"}
    assert plan["counts"] == {"images": 130, "succeeded": 130, "failed": 0, "skipped": 0, "sourceDeleted": 130}
    first = fleet.api("GET", f"plans/{plan['id']}", params={"top": 100}).json()
    assert (first["count"], first["continuationToken"]) == (100, "100")
    assert first["nextLink"].endswith("top=100&continuationToken=100")
    last = fleet.api("GET", f"plans/{plan['id']}", params={"top": 100, "continuationToken": "100"}).json()
    assert (last["count"], last["continuationToken"], "nextLink" in last) == (30, None, False)
    assert [row["name"] for row in first["images"] + last["images"]] == names
    for token in ("131", "x1", "-1"):
        response = fleet.api("GET", f"plans/{plan['id']}", params={"continuationToken": token})
        assert response.status_code == 400, token
        assert response.json()["title"] == "Invalid Continuation Token"


def test_a_plan_says_when_its_listing_and_its_chunks_wait_for_arm_budget(fleet: FleetWorld) -> None:
    """The ARM budget is shared by all of the app's work (issue 16): a plan's progress says when it waits for it."""
    fleet.seed_fleet(gallery(), image("app-001", group=GROUP_A), image("app-002", group=GROUP_A))
    host = fleet.stack.host
    host.clock(auto_advance=False)
    fleet.book_the_budget(SUB)
    started = fleet.api("POST", "plans", json={"scope": SCOPE, "filters": FILTERS, "galleryId": GALLERY})
    assert started.status_code == 202, started.text
    plan_id = started.json()["id"]

    def waiting_progress(state: str) -> dict[str, Any] | None:
        response = fleet.api("GET", f"plans/{plan_id}")
        progress = response.json().get("progress") or {}
        return (
            progress
            if response.status_code == 202 and progress.get("state") == state and "message" in progress
            else None
        )

    listing = eventually(lambda: waiting_progress("listing"), timeout=30)
    assert listing, fleet.api("GET", f"plans/{plan_id}").json()
    assert listing["message"].startswith("waiting for ARM budget until ")

    fleet.book_again_after_listing(SUB)
    planning = eventually(lambda: waiting_progress("planning"), timeout=30)
    assert planning, fleet.api("GET", f"plans/{plan_id}").json()
    assert planning["message"].startswith("waiting for ARM budget until ")
    assert set(planning) == {"state", "images", "planned", "message"}
