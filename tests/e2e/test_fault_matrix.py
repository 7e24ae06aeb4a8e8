"""The fault matrix (docs/reliability.md): one scenario per row; each asserts the terminal state, what is left in
ARM (exactly one version, or none), whether the source exists, and the reason reported.

The promise under test: a managed image is deleted only after a version built from it has been validated in every
target region and nothing still depends on it; every migration ends in a clear terminal state; nothing is created
twice.
"""

from __future__ import annotations

import time
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

# Every ARM operation the app performs, each hit by the fault at least once during a migration.
APP_OPERATIONS = [
    "Images_Get",
    "Galleries_ListByResourceGroup",
    "Galleries_Get",
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
    world.seed(gallery(), image("retry-a"), image("retry-b"), scale_set("other"))
    times = 1 if status == 429 else 2
    faults = [world.stack.arm.add_fault(operationId=op, status=status, times=times) for op in APP_OPERATIONS]
    first = world.finish(world.tag_for_migration(image_id("retry-a"), **{"migrate-definition": "shared"}))
    second = world.finish(world.tag_for_migration(image_id("retry-b"), **{"migrate-definition": "shared"}))

    assert first["output"]["outcome"] == second["output"]["outcome"] == "succeeded"
    assert world.versions_of("shared") == ["1.0.0", "1.0.1"]
    assert not world.exists(image_id("retry-a"))
    assert not world.exists(image_id("retry-b"))
    hits = {f["operationId"]: f["hits"] for f in world.stack.arm.faults()}
    # Gallery-name lookups are remembered by the app for a few minutes, so earlier tests may have answered them; a
    # tag-started migration takes the gallery's region from the trigger's lookup (only API starts read the gallery).
    cached = {"Galleries_ListByResourceGroup", "Galleries_List", "Galleries_Get"}
    assert {op: n for op, n in hits.items() if op not in cached} == {
        f["operationId"]: times for f in faults if f["operationId"] not in cached
    }, "every operation met its fault"


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
# (activity, the ARM operation it is blocked in, whether the fault must wait for the replication timer)
MID_ACTIVITY = [
    ("run_preflight", "Images_Get", False),
    ("ensure_image_definition", "GalleryImages_CreateOrUpdate", False),
    ("submit_image_version", "GalleryImageVersions_CreateOrUpdate", False),
    ("get_replication_status", "GalleryImageVersions_Get", True),
    ("promote_image_version", "GalleryImageVersions_Update", False),
    ("delete_source_image", "VirtualMachineScaleSets_ListAll", False),
    # the deletion's last write before the delete: the version's provenance and deletion marker
    ("delete_source_image-marker", "Tags_UpdateAtScope", True),
]


@pytest.mark.parametrize(("activity", "operation", "after_timer"), MID_ACTIVITY, ids=[m[0] for m in MID_ACTIVITY])
def test_devhost_killed_in_the_middle_of_each_activity(
    world: World, activity: str, operation: str, after_timer: bool
) -> None:
    """kill -9 while the activity waits on ARM; on restart the activity runs again and the migration completes
    exactly once, with nothing created twice."""
    source = image_id(f"crash-{activity.replace('_', '-')}")[:200]
    name = source.rsplit("/", 1)[1]
    world.seed(gallery(), image(name))
    if after_timer:
        world.replication_takes(10)  # done before the first poll: the poll's read is followed by validation
    fault = None
    if not after_timer:
        fault = world.stack.arm.add_fault(operationId=operation, status=503, hang=4, times=1)
    instance = start_http(world, source)
    if after_timer:
        hold_in_replication(world, instance)
        fault = world.stack.arm.add_fault(operationId=operation, status=503, hang=4, times=1)
        release(world)
    assert fault is not None
    wait_until_hanging(world, fault["id"])
    world.stack.restart_devhost(crash=True)

    status = world.finish(instance)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["outcome"] == "succeeded", status["output"]
    assert status["output"]["sourceDeleted"] is True
    assert_one_version_and_source(world, name, source=source, deleted=True)
    assert len(world.instances()) == 1


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
    world.tag(source, owner="team-a")  # an unrelated change first
    instance = world.tag_for_migration(source)
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded"
    time.sleep(2.5)  # let the late delivery land
    assert len(world.instances()) == 1
    assert world.versions_of("events") == ["1.0.0"]
    counts: dict[str, int] = {}
    for delivery in arm.deliveries(status="delivered"):
        counts[delivery["eventId"]] = counts.get(delivery["eventId"], 0) + 1
    assert max(counts.values()) >= 5


# --- replication -----------------------------------------------------------------------------------------------
def test_replication_stalls_past_the_deadline(world: World) -> None:
    source = image_id("stall")
    world.seed(gallery(), image("stall"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="stall")
    output = world.finish(start_http(world, source, targetRegions=[{"name": "eastus"}]))["output"]
    world.assert_failed_and_cleaned_up(
        output, code="DeadlineExceeded", mentions=("86400 s deadline", "eastus"), source=source, definition="stall"
    )


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


# --- cancel ----------------------------------------------------------------------------------------------------
# (phase, ARM operation to hold the migration in it or None for a durable wait, versions left)
CANCEL_PHASES = [
    ("preflight", "Images_Get", 0),
    ("definition", "GalleryImages_CreateOrUpdate", 0),
    ("version", "GalleryImageVersions_CreateOrUpdate", 0),
    ("replicating", None, 0),
    # validation itself sends nothing (the last replication read serves it): the promotion's PATCH holds the phase,
    # and the validated version is kept
    ("validating", "GalleryImageVersions_Update", 1),
    ("awaiting-approval", None, 1),
    ("deleting-source", "VirtualMachineScaleSets_ListAll", 1),
]


@pytest.mark.parametrize(("phase", "operation", "versions_left"), CANCEL_PHASES, ids=[c[0] for c in CANCEL_PHASES])
def test_cancel_in_each_phase(world: World, phase: str, operation: str | None, versions_left: int) -> None:
    name = f"cancel-{phase}"
    source = image_id(name)
    world.seed(gallery(), image(name))
    host = world.stack.host
    mode = "after-approval" if phase == "awaiting-approval" else "after-validation"
    fault = None
    if operation and phase != "validating":
        fault = world.stack.arm.add_fault(operationId=operation, status=503, hang=3, times=1)
    if phase == "validating":
        world.replication_takes(10)
    instance = start_http(world, source, deletionMode=mode)
    if phase == "validating":
        hold_in_replication(world, instance)
        fault = world.stack.arm.add_fault(operationId=operation, status=503, hang=3, times=1)
        release(world)
    if fault is not None:
        wait_until_hanging(world, fault["id"])
    elif phase == "replicating":
        hold_in_replication(world, instance)
    else:  # awaiting-approval: step the held clock until the migration asks for approval
        world.step_to_phase(instance, phase)
    assert phase_of(host.status(instance)) == phase
    response = world.api("POST", f"migrations/{instance}/cancel")
    assert response.status_code == 202, response.text
    release(world)

    output = world.finish(instance)["output"]
    assert output["outcome"] == "canceled", output
    assert output["phase"] == phase
    assert output["sourceDeleted"] is False
    assert world.exists(source), "a cancel never deletes the source"
    assert len(world.versions_of(name)) == versions_left
    assert eventually(lambda: world.tags_of(source).get("migration-status") == "canceled")
