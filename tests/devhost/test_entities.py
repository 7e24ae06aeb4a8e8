"""Durable entities on the devhost, through the real SDK: the out-of-process batch protocol, the orchestration's
``EventSent``/``EventRaised`` history, the client's signal and state APIs, batching and durability."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import requests

from devhost import engine, entities
from devhost import history as h
from devhost.client import DevhostClient
from devhost.engine import EngineState, Execution, Outcome
from localrun.processes import ServerProcess
from tests.devhost.conftest import devhost_args
from tests.devhost.minihost import START, DictCatalog, handles_of

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def caller(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Budget", "sub-1")
    context.signal_entity(entity, "account", {"reads": 2})
    granted = yield context.call_entity(entity, "acquire", {"reads": 3})
    return granted


HANDLE = handles_of(app)["caller"]  # get_functions() indexes once


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- the engine: what an orchestration's entity actions become ----------------------------------------------
def test_call_and_signal_become_numbered_event_sent_and_the_answer_an_event_named_with_the_request_id() -> None:
    handle = HANDLE
    catalog = DictCatalog([], ["caller"], entities=("budget",))
    started = h.new_execution_started(START, name="caller", instance_id="i1", execution_id="e1", input_json=None)
    execution = Execution("i1", "caller", "e1", None, None, [], EngineState())
    first = engine.run_episode(handle, catalog, execution, [started], START)

    sent = [e for e in first.appended if e["EventType"] == h.EventType.EVENT_SENT]
    assert [e["EventId"] for e in sent] == [0, 1]  # a signal and a call each take a sequence number
    assert {e["InstanceId"] for e in sent} == {"@budget@sub-1"}  # scheduler IDs: @<lower-case name>@<key>
    assert {e["Name"] for e in sent} == {"op"}
    signal, call = (json.loads(e["Input"]) for e in sent)
    assert signal["signal"] is True
    assert "signal" not in call
    assert (signal["op"], call["op"]) == ("account", "acquire")
    assert json.loads(json.loads(call["input"])) == {"reads": 3}  # the SDK's JSON text, serialized once more
    assert (call["parent"], call["parentExecution"]) == ("i1", "e1")
    assert [m.target for m in first.entity_messages] == ["@budget@sub-1", "@budget@sub-1"]
    assert call["id"] == entities.deterministic_guid("i1", START, 1)  # NewGuid: instance, time, counter
    assert first.state.tasks == {1: {"kind": "entity", "requestId": call["id"], "target": "@budget@sub-1"}}

    execution.history = list(first.appended)  # what the host stored
    execution.state = first.state
    later = START + timedelta(seconds=1)
    answer = h.new_event_raised(later, call["id"], entities.response_message('{"grantedAt": "now"}', is_error=False))
    second = engine.run_episode(handle, catalog, execution, [answer], later)
    assert second.outcome is Outcome.COMPLETED
    assert json.loads(second.output or "null") == {"grantedAt": "now"}
    assert second.state.tasks == {}


def test_a_failed_operation_raises_in_the_orchestration() -> None:
    handle = HANDLE
    catalog = DictCatalog([], ["caller"], entities=("budget",))
    started = h.new_execution_started(START, name="caller", instance_id="i2", execution_id="e1", input_json=None)
    execution = Execution("i2", "caller", "e1", None, None, [], EngineState())
    first = engine.run_episode(handle, catalog, execution, [started], START)
    request_id = json.loads(first.entity_messages[1].request)["id"]
    execution.history = list(first.appended)
    execution.state = first.state
    failed = h.new_event_raised(START, request_id, entities.response_message('"over budget"', is_error=True))
    second = engine.run_episode(handle, catalog, execution, [failed], START)
    assert second.outcome is Outcome.FAILED
    assert "over budget" in str(second.output)


def test_unregistered_entities_fail_the_orchestration_with_the_extension_message() -> None:
    handle = HANDLE
    catalog = DictCatalog([], ["caller"], entities=())
    started = h.new_execution_started(START, name="caller", instance_id="i3", execution_id="e1", input_json=None)
    result = engine.run_episode(handle, catalog, Execution("i3", "caller", "e1", None, None, [], EngineState()),
                                [started], START)  # fmt: skip
    assert result.outcome is Outcome.FAILED
    # GetInvalidEntityFunctionMessage lists entity functions whenever an orchestrator is known (its quirk).
    assert "The function 'budget' doesn't exist, is disabled, or is not an entity function." in str(result.output)
    assert "The following are the known entity functions: ''." in str(result.output)
    assert result.entity_messages == []  # a failed episode sends nothing


def test_the_batch_context_and_result_have_the_extension_shapes() -> None:
    request = entities.Request("id-1", "add", json.dumps(json.dumps(3)), signal=False, parent_instance_id="p",
                               parent_execution_id="x")  # fmt: skip
    body = json.loads(entities.batch_context("tally", "k", exists=True, state="12", requests=[request]))
    assert body == {
        "self": {"name": "tally", "key": "k"},
        "exists": True,
        "state": "12",
        "batch": [{"name": "add", "input": '"3"', "isSignal": False}],
    }
    reply = {"entityExists": True, "entityState": "15", "results": [{"result": "15", "isError": False,
             "duration": 0, "startTime": 0}], "signals": []}  # fmt: skip
    parsed = entities.parse_batch_result(json.dumps(reply), 1)
    assert (parsed.exists, parsed.state, parsed.results[0].result) == (True, "15", "15")


# -- through the real host ------------------------------------------------------------------------------------
def test_an_orchestration_signals_calls_and_sees_a_failed_operation(dh: DevhostClient) -> None:
    instance_id = dh.start("use_tally", "orch-1")
    status = dh.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["total"] == 15  # the signal (add 5) was processed before the call (add 10): arrival order
    assert "refused at 15" in output["failure"]
    assert output["after"] == 15  # the failed operation changed nothing
    events = dh.status(instance_id, show_history=True)["historyEvents"]  # type: ignore[index]
    sent = [e for e in events if e["EventType"] == "EventSent"]
    raised = [e for e in events if e["EventType"] == "EventRaised"]
    assert len(sent) == 4
    assert len(raised) == 3
    assert {e["InstanceId"] for e in sent} == {"@tally@orch-1"}
    ids = [json.loads(e["Input"])["id"] for e in sent[1:]]
    assert [e["Name"] for e in raised] == ids
    answers = [json.loads(e["Input"]) for e in raised]
    assert answers[0] == {"result": "15"}
    assert answers[1]["exceptionType"] == "Error"
    assert dh.entity_state("tally", "orch-1") == 15


def test_the_sdk_client_signals_and_reads_state(dh: DevhostClient) -> None:
    for amount in (3, 4):
        assert dh.call("POST", "tally/client-1", params={"add": str(amount)}).status_code == 202
    read = lambda: dh.call("GET", "tally/client-1").json()  # noqa: E731
    assert wait_for(lambda: read()["state"] == 7)
    assert read() == {"exists": True, "state": 7}
    assert dh.call("GET", "tally/never-signaled").json() == {"exists": False, "state": None}


def test_operations_that_queued_up_run_as_one_batch(dh: DevhostClient) -> None:
    dh.hold("@tally@batched")
    for _ in range(10):
        dh.signal_entity("tally", "batched", "add", 1)
    assert len(dh.queue("@tally@batched")) == 10
    dh.release("@tally@batched")
    wait_for(lambda: dh.entity_state("tally", "batched") == 10)
    assert dh.stats()["entities"]["@tally@batched"] == {"batches": 1, "operations": 10, "exists": True}


def test_a_signal_from_the_completing_episode_is_delivered(dh: DevhostClient) -> None:
    instance_id = dh.start("signal_and_finish", "finishing")
    assert dh.wait(instance_id)["output"] == "done"
    assert wait_for(lambda: dh.entity_state("tally", "finishing") == 1)


def test_destruct_on_exit_deletes_the_entity(dh: DevhostClient) -> None:
    dh.signal_entity("tally", "gone", "add", 2)
    wait_for(lambda: dh.entity_state("tally", "gone") == 2)
    dh.signal_entity("tally", "gone", "reset")
    wait_for(lambda: dh.entity_state("tally", "gone") is None)


def test_the_http_api_refuses_unknown_entities_and_bad_keys(dh: DevhostClient) -> None:
    url = f"{dh.base_url}/runtime/webhooks/durabletask/entities"
    code = {"code": dh.durable_key, "op": "add"}
    unknown = requests.post(f"{url}/nobody/k", params=code, timeout=10)
    assert unknown.status_code == 400
    assert (
        "The function 'nobody' doesn't exist, is disabled, or is not an entity function." in unknown.json()["Message"]
    )
    assert requests.post(f"{url}/tally/a%23b", params=code, timeout=10).status_code == 400
    assert requests.get(f"{url}/tally/nothing-here", params={"code": dh.durable_key}, timeout=10).status_code == 404
    text = requests.post(f"{url}/tally/texty", params=code, data="5", headers={"Content-Type": "text/plain"},
                         timeout=10)  # fmt: skip
    assert text.status_code == 202  # a non-JSON body is the input as text: "5" becomes 5 through int()
    wait_for(lambda: dh.entity_state("tally", "texty") == 5)


def test_calling_an_unregistered_entity_fails_with_the_extension_message(dh: DevhostClient) -> None:
    status = dh.wait(dh.start("call_unknown_entity"))
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'nobody' doesn't exist, is disabled, or is not an entity function." in status["output"]


def test_entity_state_and_queued_operations_survive_kill_9(tmp_path: Path) -> None:
    process = ServerProcess("devhost", devhost_args("--state", str(tmp_path / "state")))
    process.start()
    try:
        dh = DevhostClient(process.info)
        dh.signal_entity("tally", "durable", "add", 40)
        wait_for(lambda: dh.entity_state("tally", "durable") == 40)
        dh.hold("@tally@durable")  # in memory only: a restart forgets it
        dh.signal_entity("tally", "durable", "add", 2)
        assert len(dh.queue("@tally@durable")) == 1
        process.kill()

        process.start()
        dh = DevhostClient(process.info)
        assert wait_for(lambda: dh.entity_state("tally", "durable") == 42)  # the queued signal ran after the restart
        instance_id = dh.start("use_tally", "durable")
        assert dh.wait(instance_id)["output"]["total"] == 57
    finally:
        process.stop()
