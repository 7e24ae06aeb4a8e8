"""The fault matrix (docs/reliability.md): one scenario per row; each asserts the terminal state, what is left in
ARM (exactly one version, or none), whether the source exists, and the reason reported.

The promise under test: a managed image is deleted only after a version built from it has been validated in every
target region and nothing still depends on it; every migration ends in a clear terminal state; nothing is created
twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.world import (
    GALLERY,
    SUB,
    World,
    definition,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
    version,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Every ARM operation the app performs in the two-migration scenario below, as a clean run shows them in the
# request log (test_the_fault_list_is_what_the_app_is_seen_to_call keeps this list equal to that, so an operation
# the app starts to use cannot be left out of the matrix, or of docs/reliability.md, silently).
APP_OPERATIONS = [
    "Images_Get",
    "Galleries_List",  # the gallery named by a tag: one listing of the subscription (issue 16; no gallery read)
    "GalleryImages_Get",
    "GalleryImages_CreateOrUpdate",
    "GalleryImageVersions_ListByGalleryImage",
    "GalleryImageVersions_Get",
    "GalleryImageVersions_CreateOrUpdate",
    "GalleryImageVersions_Update",
    "Tags_UpdateAtScope",
    "VirtualMachineScaleSets_ListAll",
    "Images_Delete",
]
WRITES = [
    "GalleryImages_CreateOrUpdate",
    "GalleryImageVersions_CreateOrUpdate",
    "GalleryImageVersions_Update",
    "Tags_UpdateAtScope",
    "Images_Delete",
]


# --- helpers ---------------------------------------------------------------------------------------------------
def phase_of(status: dict[str, Any] | None) -> str | None:
    return ((status or {}).get("customStatus") or {}).get("phase")


def hold_in_replication(world: World, instance: str) -> None:
    world.hold_in_replication(instance)


def release(world: World) -> None:
    world.stack.host.clock(auto_advance=True)


def wait_until_hanging(world: World, fault_id: str, timeout: float = 20.0) -> None:
    """Until the request the fault holds is in flight."""
    hit = eventually(
        lambda: any(f["id"] == fault_id and f["hits"] >= 1 for f in world.stack.arm.faults()), timeout=timeout
    )
    assert hit, f"the fault {fault_id} was never hit\n{world.stack.logs()}"


def two_migrations_into_one_definition(world: World, first: str, second: str) -> tuple[dict[str, Any], ...]:
    """The matrix's transient-fault scenario: two images tagged with the gallery's name (looked up in the image's
    resource group, then the subscription), one after the other, into one definition (created, then reused)."""
    world.seed(gallery(), image(first), image(second), scale_set("other"))
    done = [
        world.finish(world.tag_for_migration(image_id(name), **{"migrate-definition": "shared"}))["output"]
        for name in (first, second)
    ]
    return tuple(done)


def test_the_fault_list_is_what_the_app_is_seen_to_call(world: World) -> None:
    """A clean run of the transient-fault scenario calls exactly APP_OPERATIONS: the list is derived from the
    request log, not written from memory."""
    outputs = two_migrations_into_one_definition(world, "clean-a", "clean-b")
    assert [o["outcome"] for o in outputs] == ["succeeded", "succeeded"]
    seen = {r["operationId"] for r in world.app_requests()}
    assert seen == set(APP_OPERATIONS), f"called but not faulted: {seen - set(APP_OPERATIONS)}; " + (
        f"faulted but not called: {set(APP_OPERATIONS) - seen}"
    )


def start_http(world: World, source: str, **body: Any) -> str:
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, **body})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def assert_one_version_and_source(world: World, definition_name: str, *, source: str, deleted: bool) -> None:
    assert len(world.versions_of(definition_name)) == 1, world.versions_of(definition_name)
    assert world.exists(source) is not deleted


# --- transient ARM failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_on_every_operation(world: World, status: int) -> None:
    """Every operation the app uses fails first (429 with Retry-After, or 500/503): migrations still succeed
    through the SDK's retries, and nothing is created twice."""
    times = 1 if status == 429 else 2
    for op in APP_OPERATIONS:
        world.stack.arm.add_fault(operationId=op, status=status, times=times)
    first, second = two_migrations_into_one_definition(world, "retry-a", "retry-b")

    assert first["outcome"] == second["outcome"] == "succeeded", (first, second)
    assert world.versions_of("shared") == ["1.0.0", "1.0.1"]
    assert not world.exists(image_id("retry-a"))
    assert not world.exists(image_id("retry-b"))
    # Every operation met its fault as often as it was set (the gallery-name cache starts empty in every test).
    hits = {f["operationId"]: f["hits"] for f in world.stack.arm.faults()}
    assert hits == dict.fromkeys(APP_OPERATIONS, times)


def test_responses_lost_after_each_write_happened(world: World) -> None:
    """The write is applied, then the client sees a 500 and retries: the retried write is idempotent."""
    world.seed(gallery(), image("lost-1"))
    for op in WRITES:
        world.stack.arm.add_fault(operationId=op, status=500, when="after", times=1)
    output = world.finish(world.tag_for_migration(image_id("lost-1")))["output"]
    assert output["outcome"] == "succeeded", output
    assert output["sourceDeleted"] is True
    assert_one_version_and_source(world, "lost-1", source=image_id("lost-1"), deleted=True)


def test_a_burst_longer_than_the_sdk_retries_is_retried_with_durable_timers(world: World) -> None:
    world.seed(gallery(), image("burst-1"))
    world.stack.arm.add_fault(operationId="GalleryImageVersions_Get", status=503, times=10)
    output = world.finish(world.tag_for_migration(image_id("burst-1")))["output"]
    assert output["outcome"] == "succeeded", output
    failed_reads = [
        r
        for r in world.stack.arm.requests(operation_id="GalleryImageVersions_Get")
        if r["status"] == 503 and r["fault"]
    ]
    assert len(failed_reads) == 10  # more than the SDK's 7 attempts: one durable retry was needed
    assert_one_version_and_source(world, "burst-1", source=image_id("burst-1"), deleted=True)


# --- crashes ---------------------------------------------------------------------------------------------------
# Every activity of a migration that deletes its source. The devhost stops the named activity's first run after
# it did everything it does (its ARM writes included) and before its result is recorded: a kill -9 there loses
# the result, so the restarted host runs the activity again, the at-least-once case each must survive.
KILLED_ACTIVITIES = [
    "run_preflight",
    "ensure_image_definition",
    "submit_image_version",
    "get_replication_status",
    "promote_image_version",
    "delete_source_image",
]
# (validate_image_version and record_status do not run here: validation takes the last replication read, and a
# migration that deleted its source wrote its provenance with the deletion marker, so there is no status to record.)


def completed_activities(world: World, instance: str) -> Counter[str]:
    status = world.stack.host.status(instance, show_history=True)
    assert status is not None
    return Counter(e["FunctionName"] for e in status["historyEvents"] if e["EventType"] == "TaskCompleted")


@pytest.mark.parametrize("activity", KILLED_ACTIVITIES)
def test_devhost_killed_in_the_middle_of_each_activity(world: World, activity: str) -> None:
    """kill -9 inside the activity; on restart it runs again and the migration completes exactly once, with
    nothing created twice; the history records each activity's result once."""
    name = f"crash-{activity.replace('_', '-')}"
    source = image_id(name)
    world.seed(gallery(), image(name))
    world.replication_takes(10)  # done before the first poll: a short scenario
    host = world.stack.host
    point = host.break_at(activity, at="end")
    instance = start_http(world, source)
    hit = host.wait_for_breakpoint(point["id"])
    assert (hit["instanceId"], hit["name"], hit["attempt"]) == (instance, activity, 1)
    world.stack.restart_devhost(crash=True)

    status = world.finish(instance)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["outcome"] == "succeeded", status["output"]
    assert status["output"]["sourceDeleted"] is True
    assert_one_version_and_source(world, name, source=source, deleted=True)
    assert len(world.instances()) == 1
    runs = world.stack.host.activity_runs(instance)
    again = [(r["name"], r["taskId"]) for r in runs if r["attempts"] > 1]
    assert again == [(activity, hit["taskId"])], runs  # the killed run, and only it, ran again
    assert {r["attempts"] for r in runs} == {1, 2}
    assert completed_activities(world, instance) == Counter(r["name"] for r in runs)  # each result recorded once


def test_devhost_killed_while_waiting_for_replication_and_for_approval(world: World) -> None:
    source = image_id("crash-waits")
    world.seed(gallery(), image("crash-waits"))
    instance = start_http(world, source, deletionMode="after-approval")
    hold_in_replication(world, instance)
    world.stack.restart_devhost(crash=True, hold_clock=True)  # between two polls, time still held
    world.step_to_phase(instance, "awaiting-approval")
    # While the approval timer runs; virtual time stays held across the restart, else the restarted host, idle
    # while the test re-subscribes, jumps past the approval timeout before the approval can arrive.
    world.stack.restart_devhost(crash=True, hold_clock=True)
    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    release(world)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True)
    assert_one_version_and_source(world, "crash-waits", source=source, deleted=True)


def test_emulator_restarted_mid_replication(world: World) -> None:
    source = image_id("arm-restart")
    world.seed(gallery(), image("arm-restart"))
    instance = start_http(world, source, targetRegions=[{"name": "eastus"}])
    hold_in_replication(world, instance)
    world.stack.restart_emulator(crash=True)
    release(world)
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded", output
    assert output["regions"] == {"westus2": "Completed", "eastus": "Completed"}
    assert_one_version_and_source(world, "arm-restart", source=source, deleted=True)


# --- events ----------------------------------------------------------------------------------------------------
def test_tag_event_delivered_five_times_out_of_order_and_late(world: World) -> None:
    source = image_id("events")
    world.seed(gallery(), image("events"))
    arm = world.stack.arm
    arm.add_delivery_fault("reorder", count=2)  # hold two events, deliver the newer first
    arm.add_delivery_fault("duplicate", copies=4)  # the tag event arrives five times
    arm.add_delivery_fault("delay", seconds=2)  # and one copy of something arrives late
    arm.configure({"recordBodies": True})  # to tell the app's status writes apart
    world.tag(source, owner="team-a")  # an unrelated change first
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "never"})
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded"
    run = world.run_id(instance)
    deliveries = world.settled_deliveries()  # the late, held and duplicated deliveries have all landed
    faults = {d.get("fault") for d in deliveries}
    assert {"delay", "reorder", "duplicate"} <= faults, faults
    copies = Counter(d["eventId"] for d in deliveries if d["status"] == "delivered")
    assert max(copies.values()) >= 5
    # What a second migration would leave, there is none of: no other run, no second "running" write, no second
    # version creation; the source (kept) still says succeeded.
    assert world.run_id(instance) == run
    assert [i["instanceId"] for i in world.instances()] == [instance]
    assert len(world.status_writes(source, "running")) == 1
    assert len(world.app_requests("GalleryImageVersions_CreateOrUpdate")) == 1
    assert world.versions_of("events") == ["1.0.0"]
    assert world.tags_of(source)["migration-status"] == "succeeded"


# --- replication -----------------------------------------------------------------------------------------------
def test_replication_that_stays_stalled_fails_after_the_repairs(world: World) -> None:
    source = image_id("stall")
    world.seed(gallery(), image("stall"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="stall")
    output = world.finish(start_http(world, source, targetRegions=[{"name": "eastus"}]))["output"]
    world.assert_failed_and_cleaned_up(
        output,
        code="ReplicationFailed",
        mentions=("replication stalled in eastus: no progress", "still failing after 2 repair attempt(s)"),
        source=source,
        definition="stall",
    )


def test_replication_slower_than_the_deadline(world: World) -> None:
    """Progressing, but too slowly: not a stall (no repair), the deadline ends it."""
    source = image_id("slow")
    world.seed(gallery(), image("slow"))
    world.replication_takes(2 * 86400)
    output = world.finish(start_http(world, source, targetRegions=[{"name": "eastus"}]))["output"]
    world.assert_failed_and_cleaned_up(
        output, code="DeadlineExceeded", mentions=("86400 s deadline", "eastus"), source=source, definition="slow"
    )
    assert output["repairs"] == {}


def test_source_modified_during_replication_is_not_deleted(world: World) -> None:
    source = image_id("changed")
    world.seed(gallery(), image("changed"))
    instance = start_http(world, source)
    hold_in_replication(world, instance)
    world.seed(image("changed", data_disks=((0, 64), (1, 128))))  # someone re-creates it with another disk
    release(world)
    output = world.finish(instance)["output"]
    world.assert_failed_and_cleaned_up(
        output,
        code="ReplicationFailed",
        mentions=("was modified while the image version was being replicated",),
        source=source,
        definition="changed",
    )


def test_source_modified_after_validation_is_not_deleted(world: World) -> None:
    """Replicated and validated, then the image changes while the migration waits for approval: the version is
    not a copy of what would be deleted, so the source stays."""
    source = image_id("changed-late")
    world.seed(gallery(), image("changed-late"))
    host = world.stack.host
    host.clock(auto_advance=False)
    instance = start_http(world, source, deletionMode="after-approval")
    world.step_to_phase(instance, "awaiting-approval")
    world.seed(image("changed-late", data_disks=((0, 64), (1, 128))))
    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    release(world)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False)
    assert "source-unchanged: the source image was modified after preflight" in output["sourceKeptReason"]
    assert_one_version_and_source(world, "changed-late", source=source, deleted=False)


def test_source_deleted_during_replication(world: World) -> None:
    source = image_id("vanished")
    world.seed(gallery(), image("vanished"))
    instance = start_http(world, source)
    hold_in_replication(world, instance)
    # accepted at once; Azure then takes 5 s to finish it, which held virtual time never gives a poller
    world.stack.compute(SUB).images.begin_delete("rg-images", "vanished", polling=False)
    release(world)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["error"]["code"]) == ("failed", "ReplicationFailed")
    assert "was deleted while the image version was being replicated" in output["error"]["message"]
    assert output["sourceDeleted"] is False
    assert world.versions_of("vanished") == []


def test_a_scale_set_that_starts_using_the_image_blocks_deletion(world: World) -> None:
    source = image_id("late-vmss")
    world.seed(gallery(), image("late-vmss"))
    instance = start_http(world, source)
    hold_in_replication(world, instance)
    world.seed(scale_set("late", image=source))
    release(world)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False)
    assert "virtualMachineScaleSets/late" in output["sourceKeptReason"]
    assert_one_version_and_source(world, "late-vmss", source=source, deleted=False)


# --- fail fast -------------------------------------------------------------------------------------------------
def test_gallery_that_does_not_exist(world: World) -> None:
    source = image_id("nogallery")
    world.seed(image("nogallery"))
    output = world.finish(start_http(world, source))["output"]
    assert output["outcome"] == "failed"
    assert output["error"]["code"] == "GalleryNotFound"
    assert "gallery does not exist" in output["error"]["message"]
    assert world.exists(source)
    assert world.stack.arm.resources("Microsoft.Compute/galleries/images") == []


def test_version_name_used_by_another_source(world: World) -> None:
    source = image_id("taken")
    world.seed(
        gallery(), image("taken"), image("owner"), definition("taken"), version("taken", "1.0.0", image_id("owner"))
    )
    output = world.finish(start_http(world, source, version="1.0.0"))["output"]
    assert output["outcome"] == "failed"
    assert output["error"]["code"] == "VersionConflict"
    assert image_id("owner") in output["error"]["message"]
    assert world.versions_of("taken") == ["1.0.0"]
    assert world.exists(source)


# --- cancel ---------------------------------------------------------------------------------------------------
# (No "validating" row: validation takes the replication read that saw the version complete, in the same episode;
# a cancel delivered with that read is ``test_host_races.py``'s.)
# (phase, the activity the migration is stopped in (at its start) or None for a durable wait, versions left)
CANCEL_PHASES = [
    ("preflight", "run_preflight", 0),
    ("definition", "ensure_image_definition", 0),
    ("version", "submit_image_version", 0),
    ("replicating", None, 0),
    ("awaiting-approval", None, 1),
    ("deleting-source", "delete_source_image", 1),
]


@pytest.mark.parametrize(("phase", "activity", "versions_left"), CANCEL_PHASES, ids=[c[0] for c in CANCEL_PHASES])
def test_cancel_in_each_phase(world: World, phase: str, activity: str | None, versions_left: int) -> None:
    name = f"cancel-{phase}"
    source = image_id(name)
    world.seed(gallery(), image(name))
    host = world.stack.host
    mode = "after-approval" if phase == "awaiting-approval" else "after-validation"
    world.replication_takes(10)
    point = host.break_at(activity, at="start") if activity else None
    instance = start_http(world, source, deletionMode=mode)
    if point is not None:
        host.wait_for_breakpoint(point["id"])
    elif phase == "replicating":
        hold_in_replication(world, instance)
    else:  # awaiting-approval: step the held clock until the migration asks for approval
        world.step_to_phase(instance, phase)
    assert phase_of(host.status(instance)) == phase
    response = world.api("POST", f"migrations/{instance}/cancel")
    assert response.status_code == 202, response.text
    if point is not None:
        host.release_breakpoint(point["id"])
    release(world)

    output = world.finish(instance)["output"]
    assert output["outcome"] == "canceled", output
    assert output["phase"] == phase
    assert output["sourceDeleted"] is False
    assert world.exists(source), "a cancel never deletes the source"
    assert len(world.versions_of(name)) == versions_left
    assert eventually(lambda: world.tags_of(source).get("migration-status") == "canceled")
