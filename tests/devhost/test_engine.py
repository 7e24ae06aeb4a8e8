"""The replay engine against the real SDK: given histories, the orchestrator asks for these actions."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost import bookkeeping, engine
from devhost import history as h
from devhost.engine import EngineState, Execution, Outcome
from tests.devhost.minihost import START, DictCatalog, MiniHost, handles_of

app = df.DFApp()
calls: dict[str, int] = {}


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    out = []
    for city in context.get_input():
        out.append((yield context.call_activity("hello", city)))
    return out


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("hello", str(i)) for i in range(5)])
    return results


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    key, fail_times, attempts = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=attempts)
    try:
        return (yield context.call_activity_with_retry("flaky", options, [key, fail_times]))
    except Exception as exc:
        return f"caught: {exc}"


@app.orchestration_trigger(context_name="context")
def retry_and_plain(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(1000, 3)
    first = context.call_activity_with_retry("flaky", options, ["mixed", 2])
    second = context.call_activity("hello", "plain")
    both = yield context.task_all([first, second])
    after = yield context.call_activity("hello", "after")
    return [*both, after]


@app.orchestration_trigger(context_name="context")
def any_then_retry(context: df.DurableOrchestrationContext):
    """A plain completion resumes user code in the same batch as a later retry failure: ids must interleave."""
    quick = context.call_activity("hello", "quick")
    slow = context.call_activity_with_retry("flaky", df.RetryOptions(1000, 2), ["any", 1])
    first = yield context.task_any([quick, slow])
    extra = yield context.call_activity("hello", "extra")
    rest = yield slow
    return [first.result, extra, rest]


@app.orchestration_trigger(context_name="context")
def two_retries(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(1000, 2)
    both = yield context.task_all(
        [context.call_activity_with_retry("flaky", options, [key, 1]) for key in ("r1", "r2")]
    )
    return both


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        done = yield context.call_activity("hello", "approved")
        return [winner.result, done]
    return "timeout"


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    context.set_custom_status({"phase": "children"})
    a = yield context.call_sub_orchestrator("sequence", ["x", "y"], "child-a")
    b = yield context.call_sub_orchestrator("sequence", ["z"])
    context.set_custom_status({"phase": "done"})
    return [a, b]


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return context.current_utc_datetime.isoformat()


@app.orchestration_trigger(context_name="context")
def calls_unknown(context: df.DurableOrchestrationContext):
    yield context.call_activity("nope", None)


@app.orchestration_trigger(context_name="context")
def surfaces_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "x")
    except Exception as exc:
        return str(exc)


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "x")


def hello(name: Any) -> str:
    return f"Hello {name}"


def flaky(payload: list[Any]) -> str:
    key, fail_times = payload
    calls[key] = calls.get(key, 0) + 1
    if calls[key] <= fail_times:
        raise ValueError(f"boom #{calls[key]}")
    return f"ok after {calls[key]} calls"


def boom(_: Any) -> None:
    raise ValueError("the disk is too large")


def _conformance_app() -> Any:
    """The process-level conformance app, loaded under its own module name (it is not a package)."""
    path = Path(__file__).parent / "apps" / "conformance" / "function_app.py"
    spec = importlib.util.spec_from_file_location("devhost_conformance_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


HANDLES = handles_of(app) | {"counter": handles_of(_conformance_app())["counter"]}
ACTIVITIES = {"hello": hello, "flaky": flaky, "boom": boom}


@pytest.fixture(params=[False, True], ids=["batched", "one-event-per-episode"])
def host(request: pytest.FixtureRequest) -> MiniHost:
    calls.clear()
    return MiniHost(HANDLES, ACTIVITIES, one_event_per_episode=request.param)


def test_sequence(host: MiniHost) -> None:
    run = host.run("sequence", ["Tokyo", "Seattle"])
    assert (run.outcome, run.output) == (Outcome.COMPLETED, ["Hello Tokyo", "Hello Seattle"])
    scheduled = [e["EventId"] for e in run.history if e["EventType"] == h.EventType.TASK_SCHEDULED]
    assert scheduled == [0, 1]


def test_fan_out_fan_in(host: MiniHost) -> None:
    run = host.run("fan_out")
    assert run.output == [f"Hello {i}" for i in range(5)]


def test_batched_fan_in_takes_fewer_episodes() -> None:
    batched = MiniHost(HANDLES, ACTIVITIES).run("fan_out")
    single = MiniHost(HANDLES, ACTIVITIES, one_event_per_episode=True).run("fan_out")
    assert batched.episodes == 2
    assert single.episodes == 6


def test_retry_fails_twice_then_succeeds(host: MiniHost) -> None:
    run = host.run("with_retry", ["k", 2, 3])
    assert run.output == "ok after 3 calls"
    # H2 of the contract: TS#0, TmC#1, TS#2, TmC#3, TS#4
    ids = [(e["EventType"], e["EventId"]) for e in run.history if e["EventId"] >= 0]
    assert ids == [(4, 0), (10, 1), (4, 2), (10, 3), (4, 4)]
    fired = [e["Timestamp"] for e in run.history if e["EventType"] == h.EventType.TIMER_FIRED]
    assert fired == [
        h.format_timestamp(START + timedelta(seconds=5)),
        h.format_timestamp(START + timedelta(seconds=10)),
    ]


def test_retry_exhausted_raises_last_failure(host: MiniHost) -> None:
    run = host.run("with_retry", ["k", 5, 2])
    assert run.output.startswith("caught: Activity function 'flaky' failed:  ValueError: boom #2 \n ")
    # H3: the dummy timer after the last attempt fires immediately
    timers = [e for e in run.history if e["EventType"] == h.EventType.TIMER_CREATED]
    assert [t["EventId"] for t in timers] == [1, 3]
    assert timers[1]["FireAt"] == timers[1]["Timestamp"]


def test_retry_interleaved_with_plain_task(host: MiniHost) -> None:
    run = host.run("retry_and_plain")
    assert run.output == ["ok after 3 calls", "Hello plain", "Hello after"]


def test_retry_failure_after_a_resuming_completion(host: MiniHost) -> None:
    run = host.run("any_then_retry")
    assert run.output == ["Hello quick", "Hello extra", "ok after 2 calls"]


def test_two_retries_failing_together(host: MiniHost) -> None:
    run = host.run("two_retries")
    assert run.output == ["ok after 2 calls", "ok after 2 calls"]


def test_event_wins_race_and_timer_is_cancelled(host: MiniHost) -> None:
    run = host.run("race", raise_events=[("Approval", {"by": "alice"})])
    assert run.output == [{"by": "alice"}, "Hello approved"]
    assert not any(e["EventType"] == h.EventType.TIMER_FIRED for e in run.history)


def test_timer_wins_race(host: MiniHost) -> None:
    run = host.run("race")
    assert run.output == "timeout"
    assert host.now == START + timedelta(hours=1)


def test_continue_as_new_restarts_with_fresh_history(host: MiniHost) -> None:
    run = host.run("counter", 0)
    assert run.output == 3
    assert [e["EventType"] for e in run.history][:2] == [
        h.EventType.ORCHESTRATOR_STARTED,
        h.EventType.EXECUTION_STARTED,
    ]


def test_sub_orchestrations_and_custom_status(host: MiniHost) -> None:
    run = host.run("parent")
    assert run.output == [["Hello x", "Hello y"], ["Hello z"]]
    assert run.custom_status == {"phase": "done"}
    created = [e for e in run.history if e["EventType"] == h.EventType.SUB_ORCHESTRATION_INSTANCE_CREATED]
    assert [c["InstanceId"] for c in created] == ["child-a", "e1:1"]


def test_long_timer_is_split_into_segments(host: MiniHost) -> None:
    run = host.run("long_wait")
    assert run.output == (START + timedelta(days=10)).isoformat()
    segments = [e["FireAt"] for e in run.history if e["EventType"] == h.EventType.TIMER_CREATED]
    assert segments == [h.format_timestamp(START + timedelta(days=d)) for d in (3, 6, 10)]


def test_unknown_activity_fails_the_orchestration_like_the_extension(host: MiniHost) -> None:
    run = host.run("calls_unknown")
    assert run.outcome is Outcome.FAILED
    assert run.output == (
        "Orchestrator function 'calls_unknown' failed: The function 'nope' doesn't exist, is disabled, or is not an "
        "activity function. Additional info: The following are the known activity functions: 'hello', 'flaky', 'boom'."
    )


def test_activity_exception_surfaces_with_its_message(host: MiniHost) -> None:
    run = host.run("surfaces_error")
    assert run.output.startswith("Activity function 'boom' failed:  ValueError: the disk is too large \n ")


def test_unhandled_activity_failure_fails_the_orchestration(host: MiniHost) -> None:
    run = host.run("fails")
    assert run.outcome is Outcome.FAILED
    assert run.output.startswith(
        "Orchestrator function 'fails' failed: Activity function 'boom' failed:  ValueError: the disk is too large"
    )


def test_same_history_gives_identical_actions() -> None:
    """Replay determinism: the handle fed the same context twice answers byte for byte the same."""
    run = MiniHost(HANDLES, ACTIVITIES).run("retry_and_plain")
    history = [e for e in run.history]
    cut = max(i for i, e in enumerate(history) if e["EventType"] == h.EventType.ORCHESTRATOR_STARTED)
    execution = Execution("inst1", "retry_and_plain", "e1", None, None, history[:cut], EngineState())
    body = engine.context_json(execution, history[cut + 1 : cut + 2], START)
    assert HANDLES["retry_and_plain"](body) == HANDLES["retry_and_plain"](body)


def test_select_batch_puts_a_retry_event_first_only() -> None:
    state = EngineState(next_id=3, tasks={0: {"kind": "activity", "retry": {"maxNumberOfAttempts": 2}}, 1: {}})
    failed = h.new_task_failed(START, 0, reason="r", details=None)
    done = h.new_task_completed(START, 1, "1")
    assert bookkeeping.select_batch(state, [failed, done, done]) == 3
    assert bookkeeping.select_batch(state, [done, failed, done]) == 1


def test_context_input_matches_the_client_double_encoding() -> None:
    assert engine.context_input(json.dumps(json.dumps({"a": 1}))) == '{"a": 1}'
    assert engine.context_input(json.dumps({"a": 1})) == {"a": 1}
    assert engine.context_input(None) is None


def test_unknown_function_message_without_registrations() -> None:
    message = bookkeeping.unknown_function_message("x", "orchestrator", [])
    assert message.endswith("Additional info: No orchestrator functions are currently registered!")


def test_catalog_is_case_insensitive() -> None:
    assert DictCatalog(["Hello"], []).activity("hello") == "Hello"


SCENARIOS = [
    ("sequence", ["a", "b"], ()),
    ("fan_out", None, ()),
    ("with_retry", ["det", 2, 3], ()),
    ("retry_and_plain", None, ()),
    ("any_then_retry", None, ()),
    ("race", None, [("Approval", "yes")]),
    ("race", None, ()),
    ("counter", 0, ()),
    ("parent", None, ()),
    ("long_wait", None, ()),
]


@pytest.mark.parametrize(("name", "value", "events"), SCENARIOS, ids=[f"{s[0]}-{i}" for i, s in enumerate(SCENARIOS)])
def test_replay_is_deterministic(name: str, value: Any, events: Any) -> None:
    """Every recorded episode, fed again to the handle, answers the same; two whole runs write the same history."""
    recorded: list[tuple[str, str]] = []

    def recording(handle: engine.Handle) -> engine.Handle:
        def call(body: str) -> str:
            answer = handle(body)
            recorded.append((body, answer))
            return answer

        return call

    calls.clear()
    first = MiniHost({k: recording(v) for k, v in HANDLES.items()}, ACTIVITIES).run(name, value, raise_events=events)
    calls.clear()
    second = MiniHost(HANDLES, ACTIVITIES).run(name, value, raise_events=events)
    assert first.history == second.history
    assert recorded
    for body, answer in recorded:
        handle = HANDLES[json.loads(body)["history"][1]["Name"]]
        assert handle(body) == answer


@pytest.mark.parametrize(("schema", "fails"), [(None, True), (1, True), (2, False)], ids=["V1", "V2", "V3"])
def test_a_timer_beyond_six_days_is_refused_before_schema_v3(schema: int | None, fails: bool) -> None:
    """The host validates a V1/V2 timer against Azure Storage's 6 days; in V3 the SDK splits long timers itself."""
    fire_at = h.format_timestamp(START + timedelta(days=7)).replace("0Z", "Z")
    action = {"actionType": 5, "fireAt": fire_at, "isCanceled": False}
    reply: dict[str, Any] = {"isDone": False, "actions": [[action]]}
    if schema is not None:
        reply["schemaVersion"] = schema
    execution = Execution("inst1", "timers", "e1", None, None, [], EngineState())
    started = h.new_execution_started(START, name="timers", instance_id="inst1", execution_id="e1", input_json=None)
    result = engine.run_episode(lambda _: json.dumps(reply), DictCatalog([], ["timers"]), execution, [started], START)
    if fails:
        assert result.outcome is Outcome.FAILED
        assert result.output == (
            "Orchestrator function 'timers' failed: The Azure Storage provider supports a maximum of 6 days for "
            "time-based delays (Parameter 'fireAt')"
        )
    else:
        assert result.outcome is Outcome.RUNNING
        assert [t.fire_at for t in result.timers] == [START + timedelta(days=7)]
