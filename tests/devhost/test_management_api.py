"""The Durable HTTP API's status codes and bodies, as the extension's HttpApiHandler answers them."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests

from devhost.client import DevhostClient

API = "/runtime/webhooks/durabletask"


def api(dh: DevhostClient, method: str, path: str, *, key: str | None = "durable", **kwargs: Any) -> requests.Response:
    params = dict(kwargs.pop("params", {}))
    if key == "durable":
        params["code"] = dh.durable_key
    elif key is not None:
        params["code"] = key
    return requests.request(method, f"{dh.base_url}{API}/{path}", params=params, timeout=10, **kwargs)


def test_status_codes_of_a_running_and_an_unknown_instance(dh: DevhostClient) -> None:
    instance_id = dh.start("wait_forever", instance_id="mgmt-running")
    dh.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    running = api(dh, "GET", f"instances/{instance_id}")
    assert running.status_code == 202
    assert running.headers["Retry-After"] == "5"
    assert running.headers["Location"] == running.url
    assert set(running.json()) == {
        "name", "instanceId", "runtimeStatus", "input", "customStatus", "output", "createdTime", "lastUpdatedTime"
    }  # fmt: skip
    unknown = api(dh, "GET", "instances/no-such-instance")
    assert (unknown.status_code, unknown.content) == (404, b"")
    dh.terminate(instance_id)


def test_start_errors(dh: DevhostClient) -> None:
    missing = api(dh, "POST", "orchestrators/nope")
    assert missing.status_code == 400
    assert missing.json()["Message"] == "One or more of the arguments submitted is incorrect"
    assert missing.json()["ExceptionMessage"].startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function."
    )
    bad_id = api(dh, "POST", "orchestrators/sequence/@entity")
    assert bad_id.json()["ExceptionMessage"] == (
        "instanceId (Parameter 'Orchestration instance ids must not start with @.')"
    )
    bad_json = api(dh, "POST", "orchestrators/sequence", data="{not json", headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.json()["Message"]) == (400, "Invalid JSON content")


def test_a_running_instance_id_cannot_be_started_twice_even_concurrently(dh: DevhostClient) -> None:
    answers: list[int] = []

    def start() -> None:
        answers.append(api(dh, "POST", "orchestrators/wait_forever/mgmt-dup").status_code)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202] + [500] * 7
    again = api(dh, "POST", "orchestrators/wait_forever/mgmt-dup")
    assert again.status_code == 500
    assert again.json()["ExceptionMessage"] in (
        "An Orchestration instance with the status Pending already exists.",
        "An Orchestration instance with the status Running already exists.",
    )
    assert again.json()["ExceptionType"] == "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"
    dh.terminate("mgmt-dup")
    dh.wait("mgmt-dup")
    assert api(dh, "POST", "orchestrators/sequence/mgmt-dup").status_code == 202  # ended instances are replaced
    assert dh.wait("mgmt-dup")["name"] == "sequence"


def test_raise_event_errors(dh: DevhostClient) -> None:
    assert api(dh, "POST", "instances/none/raiseEvent/x", json={}).status_code == 404
    instance_id = dh.start("wait_forever")
    wrong_type = api(
        dh, "POST", f"instances/{instance_id}/raiseEvent/x", data="1", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["Message"] == "Only application/json request content is supported"
    headers = {"Content-Type": "application/json"}
    bad = api(dh, "POST", f"instances/{instance_id}/raiseEvent/x", data="{", headers=headers)
    assert (bad.status_code, bad.json()["Message"]) == (400, "Invalid JSON content")
    dh.terminate(instance_id)
    dh.wait(instance_id)
    gone = api(dh, "POST", f"instances/{instance_id}/raiseEvent/x", json={})
    assert (gone.status_code, gone.content) == (410, b"")
    assert api(dh, "POST", f"instances/{instance_id}/terminate").status_code == 410
    assert api(dh, "POST", "instances/none/terminate").status_code == 404


def test_purge(dh: DevhostClient) -> None:
    instance_id = dh.start("sequence", ["x"])
    dh.wait(instance_id)
    assert api(dh, "DELETE", f"instances/{instance_id}").json() == {"instancesDeleted": 1}
    assert api(dh, "DELETE", f"instances/{instance_id}").status_code == 404
    no_from = api(dh, "DELETE", "instances/")
    assert (no_from.status_code, no_from.json()) == (400, "Please provide value for 'createdTimeFrom' parameter.")
    nothing = api(dh, "DELETE", "instances/", params={"createdTimeFrom": "2999-01-01T00:00:00Z"})
    assert nothing.status_code == 404


def test_list_with_filters_and_paging(dh: DevhostClient) -> None:
    for n in range(5):
        dh.wait(dh.start("sequence", [str(n)], instance_id=f"list-{n}"))
    first = api(dh, "GET", "instances", params={"instanceIdPrefix": "list-", "top": "2"})
    assert [i["instanceId"] for i in first.json()] == ["list-0", "list-1"]
    token = first.headers["x-ms-continuation-token"]
    second = api(
        dh,
        "GET",
        "instances",
        params={"instanceIdPrefix": "list-", "top": "2"},
        headers={"x-ms-continuation-token": token},
    )
    assert [i["instanceId"] for i in second.json()] == ["list-2", "list-3"]
    everything = dh.list_instances(page_size=2, instanceIdPrefix="list-", runtimeStatus="Completed,Failed")
    assert [i["instanceId"] for i in everything] == [f"list-{n}" for n in range(5)]
    assert dh.list_instances(instanceIdPrefix="list-", runtimeStatus="Running") == []


def test_history_shapes(dh: DevhostClient) -> None:
    instance_id = dh.start("sequence", ["h"])
    dh.wait(instance_id)
    events = api(dh, "GET", f"instances/{instance_id}", params={"showHistory": "true", "showHistoryOutput": "true"})
    history = events.json()["historyEvents"]
    assert [e["EventType"] for e in history] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert history[0]["FunctionName"] == "sequence"
    assert history[1]["FunctionName"] == "hello"
    assert history[1]["Result"] == "Hello h"
    assert history[1]["Input"] == json.dumps(['"h"'])
    assert history[2]["OrchestrationStatus"] == "Completed"
    without_input = api(dh, "GET", f"instances/{instance_id}", params={"showInput": "false"})
    assert without_input.json()["input"] is None


def test_suspend_and_resume(dh: DevhostClient) -> None:
    dh.clock(auto_advance=False)
    instance_id = dh.start("approval", 1)
    dh.wait_until(instance_id, lambda s: s["customStatus"] is not None)
    dh.suspend(instance_id, "maintenance")
    dh.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Suspended")
    dh.raise_event(instance_id, "Approval", "held")  # queued while suspended
    assert dh.status(instance_id)["runtimeStatus"] == "Suspended"  # type: ignore[index]
    dh.resume(instance_id, "done")
    assert dh.wait(instance_id)["output"] == {"approved": "held"}


def test_rewind_a_failed_instance(dh: DevhostClient) -> None:
    instance_id = dh.start("flaky_once", instance_id="rewind-1")
    assert dh.wait(instance_id)["runtimeStatus"] == "Failed"
    assert api(dh, "POST", f"instances/{instance_id}/rewind", params={"reason": "retry"}).status_code == 202
    status = dh.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Completed")
    assert status["output"] == "rewind-1 ok after 2 attempts"
    assert api(dh, "POST", f"instances/{instance_id}/rewind").status_code == 410


def test_restart(dh: DevhostClient) -> None:
    instance_id = dh.start("sequence", ["r"])
    dh.wait(instance_id)
    restarted = api(dh, "POST", f"instances/{instance_id}/restart")
    assert restarted.status_code == 202
    new_id = restarted.json()["id"]
    assert new_id != instance_id
    assert dh.wait(new_id)["output"] == ["Hello r"]
    unknown = api(dh, "POST", "instances/none/restart")
    assert unknown.status_code == 400
    assert unknown.json()["Message"] == "InstanceId does not match a valid orchestration instance."


def test_start_and_wait(dh: DevhostClient) -> None:
    answer = api(
        dh, "POST", "orchestrators/sequence", params={"timeout": "10", "pollingInterval": "0.05"}, json='["w"]'
    )
    assert (answer.status_code, answer.json()) == (200, ["Hello w"])


def test_webhook_needs_the_system_or_master_key_and_the_rpc_endpoint_has_its_own_loopback_port(
    dh: DevhostClient,
) -> None:
    assert api(dh, "GET", "instances", key=None).status_code == 401
    assert api(dh, "GET", "instances", key=dh.function_key).status_code == 401
    assert api(dh, "GET", "instances", key=dh.master_key).status_code == 200
    header = requests.get(f"{dh.base_url}{API}/instances", headers={"X-Functions-Key": dh.durable_key}, timeout=10)
    assert header.status_code == 200
    # The key-less local RPC endpoint is not on the public port (the extension's LocalHttpListener is its own
    # loopback listener); the SDK client reaches it through the binding's rpcBaseUrl.
    assert requests.get(f"{dh.base_url}/durabletask/instances/", timeout=10).status_code == 404
    rpc = str(dh.info["rpcBaseUrl"])
    assert rpc.startswith("http://127.0.0.1:")
    assert not rpc.startswith(dh.base_url)
    assert requests.get(f"{rpc}instances/", timeout=10).status_code == 200
