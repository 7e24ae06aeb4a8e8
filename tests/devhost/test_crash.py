"""kill -9 in the middle of an orchestration (a timer and an activity in flight), restart on the same state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.client import DevhostClient
from localrun.processes import ServerProcess
from tests.devhost.conftest import devhost_args


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_kill_9_mid_flight_then_restart_completes_without_losing_results(tmp_path: Path) -> None:
    state, markers = tmp_path / "state", tmp_path / "markers"
    markers.mkdir()
    process = ServerProcess("devhost", devhost_args("--state", str(state)))
    process.start()
    try:
        dh = DevhostClient(process.info)
        instance_id = dh.start("crash_test", str(markers), instance_id="crash-1")
        wait_for(lambda: any(markers.glob("slow-*")))  # the slow activity runs, the timer waits behind it
        assert [p.read_text() for p in markers.glob("first-*")] == ["done"]
        process.kill()

        process.start()  # same --state
        dh = DevhostClient(process.info)
        status = dh.wait(instance_id, timeout=30)
        assert status["runtimeStatus"] == "Completed"
        first, second, finished = status["output"]
        assert (first, second) == ("first done", "slow done")
        # the timer of 30 (virtual) minutes still fired after the restart
        created = dh.status(instance_id, show_history=True)
        assert created is not None
        fired = [e for e in created["historyEvents"] if e["EventType"] == "TimerFired"]
        assert len(fired) == 1
        assert finished >= fired[0]["FireAt"][:19]
    finally:
        process.stop()
    # the recorded activity ran once; the one in flight at the kill ran again (at-least-once)
    assert len(list(markers.glob("first-*"))) == 1
    slow_runs = sorted(p.read_text() for p in markers.glob("slow-*"))
    assert slow_runs == ["done", "started"]


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
def test_a_crash_right_at_continue_as_new_loses_nothing(tmp_path: Path, when: str) -> None:
    """The process dies like kill -9 in the episode where ``counter`` continues as new (just before, or just after,
    that episode's commit); on restart the instance resumes from the last commit and counts to 3 exactly."""
    process = ServerProcess("devhost", devhost_args("--state", str(tmp_path / "state")))
    process.start()
    try:
        dh = DevhostClient(process.info)
        dh.crash_at_continue_as_new("counter-1", when)
        dh.start("counter", 0, instance_id="counter-1")
        assert process.proc is not None
        assert process.proc.wait(20) == 137, process.log_tail()
        assert "crash point: counter-1" in process.log_tail()

        process.start()  # same --state, no longer armed
        dh = DevhostClient(process.info)
        status = dh.wait("counter-1", timeout=30)
        assert (status["runtimeStatus"], status["output"]) == ("Completed", 3)
        assert status["customStatus"] == {"value": 3}
        stats = dh.stats("counter-1")["instances"]["counter-1"]
        # before the commit the episode ran again; after it, the next execution simply started
        assert stats["historyEventsPeak"] <= 12
    finally:
        process.stop()


def test_the_crash_point_takes_only_the_two_moments(dh: DevhostClient) -> None:
    response = dh._control("POST", "instances/x/crash-at-continue-as-new", json={"when": "later"})
    assert response.status_code == 400
