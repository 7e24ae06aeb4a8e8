"""What the real host enforces and does, reproduced by the devhost (``devhost/limits.py`` and README "Host limits"):
custom status size, instance IDs, timer and retry lengths, external event name matching, the failure text of an
activity's exception, and messages that queued up while an instance was idle delivered in one episode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.client import DevhostClient

API = "/runtime/webhooks/durabletask"


def webhook(dh: DevhostClient, method: str, path: str, **kwargs: Any) -> requests.Response:
    url = f"{dh.base_url}{API}/{path}"
    return requests.request(method, url, params={"code": dh.durable_key}, timeout=10, **kwargs)


@pytest.mark.parametrize(("chars", "fails"), [(8600, False), (8800, True)])
def test_custom_status_over_16_kb_in_utf16_fails_the_orchestration(dh: DevhostClient, chars: int, fails: bool) -> None:
    """(8600 + 11) characters are 16.8 KB in UTF-16, which the host's integer KB still counts as 16; 8800 are 17."""
    status = dh.wait(dh.start("big_status", chars))
    if not fails:
        assert (status["runtimeStatus"], status["output"]) == ("Completed", "done")
        assert len(status["customStatus"]["blob"]) == chars
        return
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == (
        "Orchestrator function 'big_status' failed: The UTF-16 size of the JSON-serialized payload must not exceed "
        "16 KB. The current payload size is 17 KB."
    )
    assert status["customStatus"] == {"phase": "small"}  # the refused status is not applied


def test_instance_id_rules(dh: DevhostClient) -> None:
    longest = "i" * 256
    assert webhook(dh, "POST", f"orchestrators/sequence/{longest}", json=["a"]).status_code == 202
    too_long = webhook(dh, "POST", f"orchestrators/sequence/{longest}x", json=["a"])
    assert too_long.status_code == 400
    assert too_long.json()["ExceptionMessage"] == "Instance ID lengths must not exceed 256 characters."
    control = webhook(dh, "POST", "orchestrators/sequence/bad%01id", json=["a"])
    assert control.status_code == 400
    assert "must not contain /, \\, #, ?, or control characters" in control.json()["ExceptionMessage"]
    # a sub-orchestration may not take an entity's ID (DurableOrchestrationContext.CallDurableTaskFunctionAsync)
    status = dh.wait(dh.start("entity_id_child"))
    assert (status["runtimeStatus"], status["output"]) == (
        "Failed",
        "Orchestrator function 'entity_id_child' failed: instanceId (Parameter 'Orchestration instance ids must not "
        "start with @')",
    )
    assert dh.status("@counter@one") is None


def test_a_retry_interval_longer_than_azure_storage_allows_fails_the_orchestration(dh: DevhostClient) -> None:
    status = dh.wait(dh.start("long_retry"))
    assert (status["runtimeStatus"], status["output"]) == (
        "Failed",
        "Orchestrator function 'long_retry' failed: The Azure Storage provider supports a maximum of 6 days for "
        "time-based delays (Parameter 'FirstRetryInterval')",
    )


def test_event_names_reach_the_orchestrator_as_raised_and_the_sdk_matches_them_exactly(dh: DevhostClient) -> None:
    """The host matches names ignoring case, but only for its own bookkeeping: the Python SDK receives the
    ``EventRaised`` with the name as raised and compares exactly, so ``approval`` never completes a wait for
    ``Approval`` (end to end, what happens on Azure)."""
    dh.clock(auto_advance=False)
    instance_id = dh.start("approval", 1)
    dh.wait_until(instance_id, lambda s: (s["customStatus"] or {}).get("phase") == "waiting")
    assert webhook(dh, "POST", f"instances/{instance_id}/raiseEvent/approval", json={"by": "lower"}).status_code == 202
    dh.wait_until(instance_id, lambda s: any(e.get("Name") == "approval" for e in _history(dh, instance_id)))
    assert dh.status(instance_id)["runtimeStatus"] == "Running"  # type: ignore[index]
    dh.raise_event(instance_id, "Approval", {"by": "exact"})
    assert dh.wait(instance_id)["output"] == {"approved": {"by": "exact"}}


def _history(dh: DevhostClient, instance_id: str) -> list[dict[str, Any]]:
    status = dh.status(instance_id, show_history=True, show_history_output=True) or {}
    return list(status.get("historyEvents") or [])


def test_an_activity_exception_arrives_in_the_hosts_failure_format(dh: DevhostClient) -> None:
    caught = dh.wait(dh.start("surfaces_error"))["output"]["caught"]
    reason, _, details_text = caught.partition(" \n ")
    assert reason == "Activity function 'boom' failed:  ValueError: data disk disk-0 exceeds 1 TB"
    details = json.loads(details_text)
    assert details["$type"] == "System.Exception, System.Private.CoreLib"
    assert details["Message"] == " ValueError: data disk disk-0 exceeds 1 TB"
    inner = details["InnerException"]
    assert inner["ClassName"] == "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"
    assert inner["Message"].startswith("Result: Failure\nException: ValueError: data disk disk-0 exceeds 1 TB\nStack: ")
    assert "in boom" in inner["Message"]


def test_what_queued_up_while_held_is_delivered_in_one_episode(dh: DevhostClient, tmp_path: Path) -> None:
    """An activity result and an event queued together reach one episode: the SDK resumes the orchestrator
    after the result before it applies the event, so the code right after the result does not see it yet."""
    instance_id = "held-" + tmp_path.name
    dh.start("result_and_event", str(tmp_path), instance_id=instance_id)
    dh.wait_until(instance_id, lambda s: s["customStatus"] == "at the gate")
    dh.hold(instance_id)
    (tmp_path / "open").write_text("")
    dh.wait_until(instance_id, lambda _: [m["eventType"] for m in dh.queue(instance_id)] == ["TaskCompleted"])
    dh.raise_event(instance_id, "stop", "now")
    queued = dh.queue(instance_id)
    assert [(m["eventType"], m["name"]) for m in queued] == [("TaskCompleted", None), ("EventRaised", "stop")]
    dh.release(instance_id)
    status = dh.wait(instance_id)
    assert status["output"] == {"first": "gate", "stopSeenThen": False, "stopSeenLater": True}
    assert dh.stats(instance_id)["instances"][instance_id]["episodes"] == 3  # start, result + event, last result
