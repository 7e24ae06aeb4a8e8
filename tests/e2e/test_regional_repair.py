"""Regional repair (issue 15, item 1): a region that fails or stalls while the others progress is retried alone, by
an update that re-sends the version's target regions, up to REGION_REPAIR_ATTEMPTS (2) times with backoff on
durable timers; completed regions are kept. Real processes: the emulator and the devhost on the virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localrun.stack import APP_CLIENT_ID
from tests.e2e.world import GALLERY, World, gallery, image, image_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def start(world: World, name: str, **body: Any) -> str:
    world.seed(gallery(), image(name))
    response = world.start_http(
        {"sourceImageId": image_id(name), "galleryId": GALLERY, "targetRegions": [{"name": "eastus"}], **body}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def version_updates(world: World) -> list[dict[str, Any]]:
    """The app's PATCHes of versions (the repairs, then the validated version's update)."""
    return [
        r
        for r in world.stack.arm.requests(operation_id="GalleryImageVersions_Update")
        if r.get("clientId") == APP_CLIENT_ID and r["status"] < 300
    ]


def test_a_region_that_fails_once_is_retried_and_the_migration_succeeds(world: World) -> None:
    fault = world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail", times=1)
    instance = start(world, "repair-once")
    output = world.finish(instance)["output"]

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert output["repairs"] == {"eastus": 1}
    assert output["regions"] == {"westus2": "Completed", "eastus": "Completed"}
    assert world.versions_of("repair-once") == ["1.0.0"]
    summary = world.summary(instance)
    assert summary["regions"]["eastus"]["repairs"] == 1
    assert "repairs" not in summary["regions"]["westus2"]
    assert len(version_updates(world)) == 2  # one repair, then the promotion
    assert next(f for f in world.stack.arm.faults() if f["id"] == fault["id"])["hits"] == 1


def test_a_region_that_keeps_failing_fails_the_migration_naming_it_after_the_retries(world: World) -> None:
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    instance = start(world, "repair-never")
    output = world.finish(instance)["output"]

    world.assert_failed_and_cleaned_up(
        output,
        code="ReplicationFailed",
        mentions=("eastus", "still failing after 2 repair attempt(s)"),
        source=image_id("repair-never"),
        definition="repair-never",
    )
    assert output["repairs"] == {"eastus": 2}
    assert len(version_updates(world)) == 2  # the two retries; no promotion
    tags = world.tags_of(image_id("repair-never"))
    assert tags["migration-status"] == "failed"
    assert "eastus" in tags["migration-reason"]


def test_a_stalled_region_is_retried(world: World) -> None:
    """No progress for REGION_STALL_SECONDS (an hour) while the other region completed: retried once, done."""
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="stall", atProgress=40, times=1)
    output = world.finish(start(world, "repair-stall"), timeout=120)["output"]
    assert (output["outcome"], output["repairs"]) == ("succeeded", {"eastus": 1}), output


def test_a_cancel_during_the_repair_backoff_keeps_the_source_and_removes_the_version(world: World) -> None:
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    host = world.stack.host
    host.clock(auto_advance=False)
    instance = start(world, "repair-cancel")
    world.wait_for_instance(instance)

    # Step the held clock from timer to timer (each time to the wake-up the migration published, once it sleeps
    # again), until it sleeps before its first retry: the retry's timer is then surely not due yet.
    def sleeping_until_other_than(seen: str | None) -> Callable[[dict[str, Any]], bool]:
        return lambda s: (s.get("customStatus") or {}).get("nextPollAt") not in (None, seen)

    seen = None
    for _ in range(60):
        custom = host.wait_until(instance, sleeping_until_other_than(seen), timeout=60)["customStatus"]
        if "retrying eastus (attempt 1 of 2)" in (custom.get("message") or ""):
            break
        seen = custom["nextPollAt"]
        host.clock(advance_to=seen)
        host.clock(advance_by=1)  # past it: the timer is due
    else:
        raise AssertionError(f"never waited to retry: {host.status(instance)}")
    assert custom["regions"]["eastus"]["repairs"] == 1
    response = world.api("POST", f"migrations/{instance}/cancel")
    assert response.status_code == 202, response.text
    host.clock(auto_advance=True)

    output = world.finish(instance)["output"]
    assert (output["outcome"], output["phase"]) == ("canceled", "replicating"), output
    assert output["versionRemoved"] is True
    assert world.exists(image_id("repair-cancel"))
    assert world.versions_of("repair-cancel") == []
    assert version_updates(world) == []  # canceled before the retry was sent
