"""Batches over many rounds: ``BATCH_ROUND_TASKS`` at its minimum, so the batch continues as new every few
migrations. Every image is migrated exactly once and reported once, whatever happens at a round's end: events
delivered with it, a cancel, and the devhost killed (``kill -9``) just before or just after the round's commit,
or at any other moment."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.world import GALLERY, gallery, image, image_id
from tests.fleet.fleet_world import GROUP_A, FleetWorld

pytestmark = pytest.mark.e2e
SCOPE_A = {"resourceGroups": [f"/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/{GROUP_A}"]}


def _fleet(world: FleetWorld, count: int) -> list[str]:
    names = [f"app-{n:03d}" for n in range(1, count + 1)]
    world.seed_fleet(gallery(), *(image(name, group=GROUP_A) for name in names))
    return names


def _body(cap: int, **extra: Any) -> dict[str, Any]:
    return {"scope": SCOPE_A, "galleryId": GALLERY, "maxConcurrency": cap, **extra}


def _custom(world: FleetWorld, batch_id: str) -> dict[str, Any]:
    return dict((world.stack.host.status(batch_id, show_input=False) or {}).get("customStatus") or {})


def _each_migrated_once(world: FleetWorld, report: dict[str, Any], names: list[str]) -> None:
    assert [row["name"] for row in report["images"]] == names
    assert {row["outcome"] for row in report["images"]} == {"succeeded"}, report["images"]
    for name in names:
        assert world.versions_of(name) == ["1.0.0"], name  # one version: never migrated twice
        assert not world.exists(image_id(name, group=GROUP_A))
    migrations = [i for i in world.instances() if i["instanceId"].startswith("mig-")]
    assert len(migrations) == len(names)


def running_or_run(world: FleetWorld) -> set[str]:
    """The migration instances that exist (ran, or run)."""
    return {i["instanceId"] for i in world.instances() if i["instanceId"].startswith("mig-")}


def _crash_and_restart(world: FleetWorld) -> None:
    """Wait for the armed devhost to end itself like kill -9, then start it again on the same state."""
    process = world.stack.devhost_process
    assert process is not None
    assert process.proc is not None
    assert process.proc.wait(60) == 137, process.log_tail()
    world.stack.restart_devhost()


def test_a_batch_of_many_rounds_migrates_every_image_once_with_a_short_history(rounds: FleetWorld) -> None:
    names = _fleet(rounds, 24)
    batch_id = rounds.start_batch(_body(3))
    report = rounds.finish_batch(batch_id, timeout=180)

    assert report["status"] == "completed"
    assert report["counts"] == {
        "total": 24,
        "queued": 0,
        "running": 0,
        "succeeded": 24,
        "failed": 0,
        "canceled": 0,
        "skipped": 0,
        "notStarted": 0,
    }
    assert report["rounds"] >= 8, report["rounds"]  # it continued as new, round after round
    _each_migrated_once(rounds, report, names)
    assert rounds.peak_running([row["instanceId"] for row in report["images"]]) == 3
    stats = rounds.stack.host.stats(batch_id)["instances"][batch_id]
    assert stats["historyEventsPeak"] <= 80, stats  # per execution, whatever the batch's size


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
@pytest.mark.parametrize("where", ["listing", "round"])
def test_kill_9_as_the_batch_continues_as_new_loses_nothing(rounds: FleetWorld, where: str, when: str) -> None:
    """The devhost dies in the episode in which the batch continues as new: after listing (execution 1 hands its
    ledger to the first round) or at the end of a round with migrations running; just before or just after that
    episode's commit."""
    names = _fleet(rounds, 9)
    host = rounds.stack.host
    if where == "listing":
        host.crash_at_continue_as_new("batch-", when)  # the batch's ID is not known before it starts
        batch_id = rounds.start_batch(_body(3))
    else:
        host.clock(auto_advance=False)  # the first migrations wait for replication while the crash is armed
        batch_id = rounds.start_batch(_body(3))
        host.wait_until(batch_id, lambda s: len((s.get("customStatus") or {}).get("running", [])) == 3)
        host.crash_at_continue_as_new(batch_id, when)
        host.clock(auto_advance=True)
    _crash_and_restart(rounds)

    report = rounds.finish_batch(batch_id, timeout=180)
    assert report["status"] == "completed"
    assert report["counts"]["succeeded"] == 9
    _each_migrated_once(rounds, report, names)


def test_kill_9_at_any_moment_of_a_batch_loses_nothing(rounds: FleetWorld) -> None:
    """Three kills at moments the test does not choose: whenever a few more migrations have ended."""
    names = _fleet(rounds, 12)
    batch_id = rounds.start_batch(_body(3))
    for ended in (2, 5, 8):
        deadline = time.monotonic() + 120
        while (_custom(rounds, batch_id).get("counts") or {}).get("succeeded", 0) < ended:
            assert time.monotonic() < deadline, _custom(rounds, batch_id)
            time.sleep(0.05)
        rounds.stack.restart_devhost(crash=True)

    report = rounds.finish_batch(batch_id, timeout=180)
    assert report["status"] == "completed"
    _each_migrated_once(rounds, report, names)


@pytest.mark.parametrize("crash", ["at-once", "at-continue-as-new"])
def test_a_cancel_and_a_kill_9_during_rounds_keep_every_source_not_migrated(rounds: FleetWorld, crash: str) -> None:
    """Cancel while a round runs, then kill the devhost at once (the cancel is queued or being handled), or when the
    batch next continues as new (if its rounds end that way before all migrations stopped): the running migrations
    are canceled (sources kept), nothing more starts, each image is reported once."""
    names = _fleet(rounds, 12)
    batch_id = rounds.start_batch(_body(6))
    deadline = time.monotonic() + 120
    while (_custom(rounds, batch_id).get("counts") or {}).get("succeeded", 0) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if crash == "at-continue-as-new":
        rounds.stack.host.crash_at_continue_as_new(batch_id, "after-commit")
    assert rounds.api("POST", f"batches/{batch_id}/cancel").status_code == 202
    if crash == "at-once":
        rounds.stack.restart_devhost(crash=True)
    else:
        process = rounds.stack.devhost_process
        assert process is not None
        while process.running():
            try:
                if (rounds.stack.host.status(batch_id) or {}).get("runtimeStatus") == "Completed":
                    break
            except requests.RequestException:
                pass  # the devhost is ending itself at the crash point
            time.sleep(0.05)
        if not process.running():
            rounds.stack.restart_devhost()

    report = rounds.finish_batch(batch_id, timeout=180)
    assert report["status"] == "canceled"
    rows = {row["name"]: row for row in report["images"]}
    assert sorted(rows) == names
    assert sum(1 for r in rows.values() if r["outcome"] == "succeeded") >= 3
    assert {r["outcome"] for r in rows.values()} <= {"succeeded", "canceled", "not-started"}
    for name, row in rows.items():
        assert rounds.exists(image_id(name, group=GROUP_A)) is (row["outcome"] != "succeeded"), row
        versions = rounds.versions_of(name)  # a canceled migration removes a version it had not validated
        assert versions == ["1.0.0"] if row["outcome"] == "succeeded" else len(versions) <= 1, row
        if row["outcome"] == "not-started":
            assert versions == [], row
            assert row["instanceId"] not in running_or_run(rounds), row
    counts = report["counts"]
    assert counts["succeeded"] + counts["canceled"] + counts["notStarted"] == 12
    assert counts["queued"] == counts["running"] == 0
