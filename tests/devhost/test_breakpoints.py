"""Activity breakpoints and durable attempt counts (``/_devhost/breakpoints``, ``/_devhost/instances/{id}/activities``):
what the end-to-end kill tests use to kill the host inside a named activity, and to prove it ran again."""

from __future__ import annotations

from pathlib import Path

from devhost.client import DevhostClient
from localrun.processes import ServerProcess
from tests.devhost.conftest import devhost_args


def completed_tasks(dh: DevhostClient, instance_id: str) -> list[str]:
    """The activities the history records as completed (the status API folds each TaskScheduled into them)."""
    status = dh.status(instance_id, show_history=True)
    assert status is not None
    return [e["FunctionName"] for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]


def test_kill_9_at_a_breakpoint_runs_that_activity_again_and_records_it_once(tmp_path: Path) -> None:
    process = ServerProcess("devhost", devhost_args("--state", str(tmp_path / "state")))
    process.start()
    try:
        dh = DevhostClient(process.info)
        point = dh.break_at("hello", at="end", skip=1)  # the second call: done, its result not yet recorded
        instance_id = dh.start("sequence", ["a", "b", "c"], instance_id="bp-kill")
        hit = dh.wait_for_breakpoint(point["id"])
        assert (hit["instanceId"], hit["name"], hit["taskId"], hit["attempt"]) == ("bp-kill", "hello", 1, 1)
        assert completed_tasks(dh, instance_id) == ["hello"]
        process.kill()

        process.start()  # same --state: the unrecorded run is a pending work item again
        dh = DevhostClient(process.info)
        assert dh.wait(instance_id)["output"] == ["Hello a", "Hello b", "Hello c"]
        runs = dh.activity_runs(instance_id)
        assert [(r["taskId"], r["name"], r["attempts"]) for r in runs] == [
            (0, "hello", 1),
            (1, "hello", 2),
            (2, "hello", 1),
        ]
        assert completed_tasks(dh, instance_id) == ["hello"] * 3  # the killed run's result is recorded once
    finally:
        process.stop()


def test_a_breakpoint_holds_one_run_until_released(dh: DevhostClient) -> None:
    point = dh.break_at("hello", at="start")
    instance_id = dh.start("sequence", ["x", "y"])
    hit = dh.wait_for_breakpoint(point["id"])
    assert (hit["taskId"], hit["attempt"]) == (0, 1)
    assert dh.stats()["runningActivities"] == 1
    assert dh.clock()["idle"] is False  # an activity held at a breakpoint is still running
    assert completed_tasks(dh, instance_id) == []
    dh.release_breakpoint(point["id"])
    assert dh.wait(instance_id)["output"] == ["Hello x", "Hello y"]  # one stop only: the second run passed
    assert dh.clock()["idle"] is True
    assert [r["attempts"] for r in dh.activity_runs(instance_id)] == [1, 1]


def test_bad_breakpoints_are_refused(dh: DevhostClient) -> None:
    bodies: list[object] = [{"activity": "hello", "at": "middle"}, {"at": "end"}, {"activity": "hello", "skip": -1}, []]
    for body in bodies:
        response = dh._control("POST", "breakpoints", json=body)
        assert response.status_code == 400, (body, response.text)
    assert dh._control("DELETE", "breakpoints/999").status_code == 404


def test_a_reset_starts_the_host_counters_afresh(dh: DevhostClient) -> None:
    dh.wait(dh.start("sequence", ["a"]))
    before = dh.stats()
    assert (before["activityExecutions"], before["peakConcurrentActivities"]) == (1, 1)
    dh.reset()
    after = dh.stats()
    assert (after["activityExecutions"], after["peakConcurrentActivities"], after["episodes"]) == (0, 0, 0)
