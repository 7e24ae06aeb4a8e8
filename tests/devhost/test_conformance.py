"""Conformance: small orchestrations through the devhost as a real process, asserted on the status API."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import requests

from devhost.client import DevhostClient


def seconds_between(start: str, end: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def test_sequence(dh: DevhostClient) -> None:
    instance_id = dh.start("sequence", ["Tokyo", "Seattle", "London"])
    status = dh.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["input"] == '["Tokyo", "Seattle", "London"]'  # posted like start_new: JSON text
    assert status["output"] == ["Hello Tokyo", "Hello Seattle", "Hello London"]


def test_fan_out_fan_in_through_the_sdk_client(dh: DevhostClient) -> None:
    response = dh.call("POST", "start/fan_out", data="20")
    assert response.status_code == 202
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(dh.base_url + "/runtime/webhooks/durabletask/instances/")
    dh.wait(payload["id"])
    final = requests.get(payload["statusQueryGetUri"], timeout=10)  # the URL carries its own code=
    assert final.status_code == 200
    assert final.json()["output"] == [f"Hello {i}" for i in range(20)]
    # start_new(x) double-encodes: the status API shows the input as the JSON text the SDK posted
    assert final.json()["input"] == "20"


def test_activity_concurrency_follows_host_json(dh: DevhostClient, tmp_path: Path) -> None:
    status = dh.wait(dh.start("fan_out_slow", {"folder": str(tmp_path), "count": 8, "seconds": 0.3}))
    assert status["output"] == [f"slow{i} done" for i in range(8)]
    assert dh.stats()["peakConcurrentActivities"] == 4  # maxConcurrentActivityFunctions in the app's host.json


def test_retry_with_failures_then_success(dh: DevhostClient) -> None:
    instance_id = dh.start("with_retry", {"key": "retry-conformance", "failures": 2})
    status = dh.wait(instance_id)
    assert status["output"] == "retry-conformance ok after 3 attempts"
    # two retry delays of 60 s on the virtual clock
    assert seconds_between(status["createdTime"], status["lastUpdatedTime"]) == 120
    history = dh.status(instance_id, show_history=True)["historyEvents"]  # type: ignore[index]
    kinds = [e["EventType"] for e in history]
    assert kinds.count("TaskFailed") == 2
    assert kinds.count("TaskCompleted") == 1
    failed = [e for e in history if e["EventType"] == "TaskFailed"]
    assert failed[0]["Reason"] == (
        "Activity function 'flaky' failed:  ConnectionError: transient failure 1 of retry-conformance"
    )
    assert failed[0]["FunctionName"] == "flaky"


def test_external_event_wins_the_race_and_custom_status_shows_progress(dh: DevhostClient) -> None:
    dh.clock(auto_advance=False)  # hold virtual time so the 1-hour timer cannot fire first
    instance_id = dh.start("approval", 1)
    waiting = dh.wait_until(instance_id, lambda s: (s["customStatus"] or {}).get("phase") == "waiting")
    assert waiting["runtimeStatus"] == "Running"
    dh.raise_event(instance_id, "Approval", {"by": "alice"})
    status = dh.wait(instance_id)
    assert status["output"] == {"approved": {"by": "alice"}}
    assert status["customStatus"] == {"phase": "approved"}


def test_sdk_raise_event_arrives_as_json_text(dh: DevhostClient) -> None:
    """The SDK client double-encodes event data (contract §5.5): the orchestrator receives the JSON text."""
    dh.clock(auto_advance=False)
    instance_id = dh.start("approval", 1)
    dh.wait_until(instance_id, lambda s: (s["customStatus"] or {}).get("phase") == "waiting")
    assert dh.call("POST", f"raise/{instance_id}/Approval", json={"by": "bob"}).status_code == 202
    assert dh.wait(instance_id)["output"] == {"approved": '{"by": "bob"}'}


def test_timer_wins_the_race(dh: DevhostClient) -> None:
    instance_id = dh.start("approval", 6)
    status = dh.wait(instance_id)
    assert status["customStatus"] == {"phase": "timed-out"}
    assert status["output"]["approved"] is None
    assert seconds_between(status["createdTime"], status["lastUpdatedTime"]) == 6 * 3600


def test_six_hours_of_polling_with_continue_as_new(dh: DevhostClient) -> None:
    now = datetime.fromisoformat(dh.clock()["now"].replace("Z", "+00:00"))
    until = (now + timedelta(hours=6)).isoformat()
    instance_id = dh.start("monitor", {"polls": 0, "until": until})
    status = dh.wait(instance_id)
    assert status["output"]["polls"] == 72
    stats = dh.stats(instance_id)["instances"][instance_id]
    assert stats["historyEventsPeak"] < 60  # continue_as_new keeps each execution's history short
    assert stats["historyEventsTotal"] > 300


def test_sub_orchestrations_with_explicit_id_and_retry(dh: DevhostClient) -> None:
    instance_id = dh.start("parent", instance_id="parent-conformance")
    status = dh.wait(instance_id)
    assert status["output"] == [["Hello a", "Hello b"], "sub-parent-conformance ok after 2 attempts"]
    child = dh.status("parent-conformance-child")
    assert child is not None
    assert (child["runtimeStatus"], child["output"]) == ("Completed", ["Hello a", "Hello b"])
    assert dh.stats("parent-conformance")["instances"][instance_id]["peakRunningSubOrchestrations"] == 1


def test_continue_as_new(dh: DevhostClient) -> None:
    status = dh.wait(dh.start("counter", 0))
    assert (status["output"], status["customStatus"]) == (3, {"value": 3})


def test_activity_exception_surfaces_with_its_message(dh: DevhostClient) -> None:
    status = dh.wait(dh.start("surfaces_error"))
    caught = status["output"]["caught"]
    assert caught.startswith("Activity function 'boom' failed:  ValueError: data disk disk-0 exceeds 1 TB \n ")


def test_unhandled_activity_exception_fails_the_orchestration(dh: DevhostClient) -> None:
    status = dh.wait(dh.start("unhandled"))
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'unhandled' failed: Activity function 'boom' failed:  ValueError: data disk disk-1 "
        "exceeds 1 TB"
    )


def test_terminate(dh: DevhostClient) -> None:
    instance_id = dh.start("wait_forever")
    dh.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
    dh.terminate(instance_id, "no longer needed")
    status = dh.wait(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "no longer needed")
