"""Races the real Durable host makes possible, reproduced through both servers (issue 13): a cancel delivered in
the same episode as an activity result (the replication read that also serves validation; the devhost holds the
instance so that both queue up, as the host batches what arrived while an instance was idle), raised through our
API or the built-in ``raiseEvent`` webhook, in any case; a version deleted from under a replicating migration; and
a promotion that keeps the version ``Updating`` for minutes, as Azure does."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulator.control import ControlError
from tests.e2e.test_fault_matrix import hold_in_replication, phase_of, release, start_http, wait_until_hanging
from tests.e2e.world import GALLERY_NAME, GALLERY_RG, SUB, World, eventually, gallery, image, image_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def raise_through_webhook(world: World, instance: str, name: str) -> None:
    host = world.stack.host
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}/raiseEvent/{name}"
    response = requests.post(url, params={"code": host.durable_key}, json={"by": "ops"}, timeout=10)
    assert response.status_code == 202, response.text


RACES = [
    ("api", "cancel", {}),
    ("webhook", "cancel", {}),
    ("webhook", "Cancel", {}),
    ("webhook", "cancel", {"excludeFromLatest": True}),  # the next write would be the deletion
]


@pytest.mark.parametrize(
    ("via", "event_name", "body"), RACES, ids=["api", "webhook", "webhook-Cancel", "webhook-before-deletion"]
)
def test_a_cancel_delivered_with_the_read_that_validates_stops_the_next_write(
    world: World, via: str, event_name: str, body: dict[str, Any]
) -> None:
    name = f"race-{via}-{event_name.lower()}-{event_name[0]}-{len(body)}"
    source = image_id(name)
    world.seed(gallery(), image(name))
    world.replication_takes(10)
    host = world.stack.host
    instance = start_http(world, source, **body)
    hold_in_replication(world, instance)
    # keeps the replication read that sees the version complete (and serves validation) in flight for 4 s: the
    # window in which the instance is put on hold
    fault = world.stack.arm.add_fault(operationId="GalleryImageVersions_Get", status=503, hang=4, times=1)
    release(world)
    wait_until_hanging(world, fault["id"])
    assert phase_of(host.status(instance)) == "replicating"
    host.clock(auto_advance=False)
    host.hold(instance)
    host.wait_until(instance, lambda _: [m["eventType"] for m in host.queue(instance)] == ["TaskCompleted"], timeout=30)
    if via == "api":
        assert world.api("POST", f"migrations/{instance}/cancel").status_code == 202
    else:
        raise_through_webhook(world, instance, event_name)
    queued = [(m["eventType"], m["name"]) for m in host.queue(instance)]
    assert queued == [("TaskCompleted", None), ("EventRaised", event_name)]
    host.release(instance)
    release(world)

    output = world.finish(instance)["output"]
    assert (output["outcome"], output["phase"]) == ("canceled", "validating"), output
    for write in ("GalleryImageVersions_Update", "VirtualMachineScaleSets_ListAll", "Images_Delete"):
        assert world.stack.arm.requests(operation_id=write) == [], f"{write} after the cancel"
    assert world.exists(source)
    assert len(world.versions_of(name)) == 1  # validated, so kept (still excluded from latest)
    assert eventually(lambda: world.tags_of(source).get("migration-status") == "canceled")


def test_a_version_deleted_while_replicating_fails_the_migration_with_its_bookkeeping(world: World) -> None:
    source = image_id("version-gone")
    world.seed(gallery(), image("version-gone"))
    instance = start_http(world, source)
    hold_in_replication(world, instance)
    versions = world.stack.compute(SUB).gallery_image_versions
    versions.begin_delete(GALLERY_RG, GALLERY_NAME, "version-gone", "1.0.0", polling=False)
    eventually(lambda: world.versions_of("version-gone") == [], timeout=20)
    release(world)
    output: dict[str, Any] = world.finish(instance)["output"]
    assert (output["outcome"], output["error"]["code"]) == ("failed", "ReplicationFailed"), output
    assert "disappeared while replicating" in output["error"]["message"]
    assert output["sourceDeleted"] is False
    assert world.exists(source)
    assert eventually(lambda: world.tags_of(source).get("migration-status") == "failed")
    assert "disappeared while replicating" in world.tags_of(source)["migration-reason"]


def test_the_promotion_is_awaited_on_durable_timers_while_the_version_stays_updating(world: World) -> None:
    """Azure keeps a version ``Updating`` for about 150 s after the promotion PATCH; the migration waits that out
    on durable timers (the first look when the update usually ends, PROMOTION_FIRST_POLL_SECONDS = 151) and only
    then deletes the source."""
    try:
        world.stack.arm.configure({"lro": {"versionUpdateSeconds": 150}})
    except ControlError as exc:  # the emulator's update duration arrives with the emu-oracle branch
        pytest.skip(f"this emulator has no lro.versionUpdateSeconds yet: {exc}")
    source = image_id("promoted-slowly")
    world.seed(gallery(), image("promoted-slowly"))
    world.replication_takes(10)
    output = world.finish(start_http(world, source))["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    log = world.stack.arm.requests()
    patched = next(i for i, r in enumerate(log) if r["operationId"] == "GalleryImageVersions_Update")
    reads = [r for r in log[patched:] if r["operationId"] == "GalleryImageVersions_Get"]
    assert len(reads) == 1, reads  # at 151 s: Succeeded
    assert output["phaseSeconds"]["validating"] >= 150


def test_an_approval_raised_through_the_webhook_before_validation_approves_nothing(world: World) -> None:
    """Our API refuses an approval before the awaiting-approval phase; the built-in raiseEvent webhook accepts it
    (410 only once the instance has ended). Raised while replicating, it must not pre-approve the deletion."""
    name = "early-approve"
    source = image_id(name)
    world.seed(gallery(), image(name))
    world.replication_takes(10)
    instance = start_http(world, source, deletionMode="after-approval")
    hold_in_replication(world, instance)
    raise_through_webhook(world, instance, "approve")
    assert eventually(
        lambda: any(
            e.get("EventType") == "EventRaised"
            for e in (world.stack.host.status(instance, show_history=True) or {}).get("historyEvents", [])
        )
    ), "the approval was never delivered"
    world.step_to_phase(instance, "awaiting-approval")
    release(world)  # the approval timeout passes with no approval given after validation

    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    assert "no approval" in output["sourceKeptReason"]
    assert world.stack.arm.requests(operation_id="Images_Delete") == []
    assert world.exists(source)
