"""The replay engine: one episode = history + new events -> SDK handle -> new history and work (contract §1-§3).

Pure apart from calling the orchestrator handle: no I/O, no clock. New action leaves get sequence numbers in
leaf order, exactly as the SDK allocates them (every yielded task except external-event waits); the host owns
retries (a timer per failed attempt, then a re-attempt). Batching rules live in :mod:`devhost.bookkeeping`.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from devhost import entities, limits
from devhost import history as h
from devhost.actions import ActionType, OrchestratorReply, action_type, parse_failure, parse_reply
from devhost.bookkeeping import (
    SAME_INSTANCE_ID_MESSAGE,
    ActivityWork,
    Catalog,
    EngineState,
    EntityMessage,
    SubOrchestrationWork,
    TimerWork,
    unknown_entity_message,
    unknown_function_message,
)
from devhost.history import EventType, HistoryEvent, OrchestrationStatus

# What the real host sends for Azure Storage (contract §1.2): with V3 the SDK splits timers longer than 6 days.
MAX_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"


class Outcome(Enum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CONTINUED_AS_NEW = "ContinuedAsNew"


@dataclass
class Execution:
    """What one episode needs to know about the instance."""

    instance_id: str
    name: str
    execution_id: str
    input_json: str | None
    parent_instance_id: str | None
    history: list[HistoryEvent]
    state: EngineState


@dataclass
class EpisodeResult:
    appended: list[HistoryEvent]
    state: EngineState
    outcome: Outcome
    output: str | None = None
    custom_status: str | None = None
    activities: list[ActivityWork] = field(default_factory=list)
    timers: list[TimerWork] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    sub_orchestrations: list[SubOrchestrationWork] = field(default_factory=list)
    entity_messages: list[EntityMessage] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    traceback: str = ""  # the orchestrator's exception, for the host log
    instance_id: str = ""


Handle = Callable[[str], str]


def context_json(execution: Execution, new_events: list[HistoryEvent], now: datetime) -> str:
    """The orchestration trigger value, with exactly the real host's keys (contract §1.2)."""
    past = execution.history
    events = [*past, h.new_orchestrator_started(now), *new_events]
    return json.dumps(
        {
            "history": events,
            "input": context_input(execution.input_json),
            "instanceId": execution.instance_id,
            "isReplaying": bool(past),
            "parentInstanceId": execution.parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "maximumShortTimerDuration": MAX_SHORT_TIMER,
            "longRunningTimerIntervalDuration": LONG_TIMER_INTERVAL,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )


def context_input(input_json: str | None) -> Any:
    """The context's ``input``: the stored input parsed and embedded as a JSON value, as the extension does
    (``GetInputAsJson``). ``start_new(x)`` posts ``df_dumps(x)`` as a JSON string, so the SDK sees that text and
    ``get_input()`` returns ``x``; an object reaches the SDK as a dict (which it re-dumps); a raw JSON string,
    list or number posted to the HTTP API fails in ``get_input()`` exactly as on Azure (contract §1.2, §5.5).
    """
    return None if input_json is None else json.loads(input_json)


def run_episode(
    handle: Handle, catalog: Catalog, execution: Execution, new_events: list[HistoryEvent], now: datetime
) -> EpisodeResult:
    """Replay ``execution`` with ``new_events`` (already batched by :func:`select_batch`) at time ``now``."""
    state = EngineState.from_json(execution.state.to_json())
    appended: list[HistoryEvent] = [h.new_orchestrator_started(now), *(_played(e) for e in new_events)]
    result = EpisodeResult(appended=appended, state=state, outcome=Outcome.RUNNING, instance_id=execution.instance_id)
    for event in new_events:
        result.decisions.append(f"delivered {_describe(event)}")
        _account_for(event, state, result, now)

    body = context_json(execution, new_events, now)
    started = time.thread_time()
    try:
        reply = parse_reply(handle(body))
    except Exception as exc:  # the SDK's failure protocol raises (contract §2.5)
        result.traceback = "".join(traceback.format_exception(exc.__cause__ or exc)).rstrip()
        failure = parse_failure(str(exc))
        reply = failure or OrchestratorReply(leaves=[], is_done=True, error=f"{type(exc).__name__}: {exc}")
    result.cpu_seconds = time.thread_time() - started

    if reply.has_custom_status and reply.custom_status:
        too_large = limits.custom_status_error(reply.custom_status)
        if too_large is not None:  # the host sets it before anything else and fails; the status keeps its value
            _finish(result, now, Outcome.FAILED, f"Orchestrator function '{execution.name}' failed: {too_large}")
            return result
        result.custom_status = json.dumps(reply.custom_status)
    if reply.error is not None:
        _finish(result, now, Outcome.FAILED, f"Orchestrator function '{execution.name}' failed: {reply.error}")
        return result
    try:
        _consume_leaves(reply, execution, catalog, result, now)
    except ValueError as exc:  # the extension throws ArgumentException while replaying the actions
        _finish(result, now, Outcome.FAILED, f"Orchestrator function '{execution.name}' failed: {exc}")
        return result
    if reply.is_done and result.outcome is Outcome.RUNNING:
        output = json.dumps(reply.output) if reply.has_output else None
        _finish(result, now, Outcome.COMPLETED, output)
    elif result.outcome is Outcome.RUNNING:
        appended.append(h.new_orchestrator_completed(now))
    return result


def _account_for(event: HistoryEvent, state: EngineState, result: EpisodeResult, now: datetime) -> None:
    """Close the task an event completes; run the host-owned retry machinery (contract §3.1)."""
    kind = event["EventType"]
    if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
        state.tasks.pop(event["TaskScheduledId"], None)
    elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
        record = state.tasks.pop(event["TaskScheduledId"], None)
        if record and not record.get("retry"):
            state.failed[event["TaskScheduledId"]] = record
        elif record:
            attempts = int(record["retry"]["maxNumberOfAttempts"])
            delay = timedelta(milliseconds=int(record["retry"]["firstRetryIntervalInMilliseconds"]))
            # After the last attempt DTFx still creates one immediate timer; the SDK raises when it fires.
            fire_at = now + delay if record["attempt"] < attempts else now
            timer_id = state.allocate({"kind": "retry", "target": record, "fireAt": h.format_timestamp(fire_at)})
            result.appended.append(h.new_timer_created(now, timer_id, fire_at))
            result.timers.append(TimerWork(timer_id, fire_at))
            result.decisions.append(
                f"retry timer #{timer_id} after attempt {record['attempt']} fires at {h.format_timestamp(fire_at)}"
            )
    elif kind == EventType.EVENT_RAISED:
        # An entity's answer is an event named with the request ID (DFX WaitForEntityResponse).
        answered = [i for i, r in state.tasks.items() if r["kind"] == "entity" and r["requestId"] == event.get("Name")]
        for task_id in answered:
            del state.tasks[task_id]
    elif kind == EventType.TIMER_FIRED:
        record = state.tasks.pop(event["TimerId"], None)
        if record and record["kind"] == "retry":
            target = record["target"]
            attempts = int(target["retry"]["maxNumberOfAttempts"])
            if target["attempt"] < attempts:
                again = {**target, "attempt": target["attempt"] + 1}
                task_id = state.allocate(again)
                _schedule(again, task_id, state, result, now, execution_id=None)


def _consume_leaves(
    reply: OrchestratorReply, execution: Execution, catalog: Catalog, result: EpisodeResult, now: datetime
) -> None:
    state = result.state
    for task_id, record in list(state.tasks.items()):  # cancellation flips an old timer leaf (§2.4)
        leaf_index = int(record.get("leaf", -1))
        if (
            record["kind"] == "timer"
            and 0 <= leaf_index < len(reply.leaves)
            and reply.leaves[leaf_index].get("isCanceled")
        ):
            del state.tasks[task_id]
            result.cancelled_timers.append(task_id)
    new_leaves = reply.leaves[state.leaf_count :]
    first_index = state.leaf_count
    state.leaf_count = len(reply.leaves)
    for offset, leaf in enumerate(new_leaves):
        kind = action_type(leaf)
        if kind is ActionType.CONTINUE_AS_NEW:
            _finish(result, now, Outcome.CONTINUED_AS_NEW, leaf.get("input"))
            return
        if reply.is_done and kind not in (ActionType.SIGNAL_ENTITY, ActionType.CALL_ENTITY):
            continue  # the execution ends in this episode: nothing new gets scheduled but messages (DTFx sends them)
        maybe_record = _record_for(leaf, kind, execution, catalog, now=now, schema=reply.raw.get("schemaVersion"))
        if maybe_record is None:
            result.decisions.append("waits for external event " + repr(leaf.get("externalEventName")))
            continue
        record = maybe_record
        if kind is ActionType.CREATE_TIMER:
            record["leaf"] = first_index + offset
        task_id = state.allocate(record)
        if record["kind"] == "timer" and leaf.get("isCanceled"):
            state.tasks.pop(task_id)
            result.appended.append(h.new_timer_created(now, task_id, h.parse_timestamp(record["fireAt"])))
            continue
        _schedule(record, task_id, state, result, now, execution_id=execution.execution_id)


def _record_for(
    leaf: dict[str, Any], kind: ActionType, execution: Execution, catalog: Catalog, *, now: datetime, schema: Any
) -> dict[str, Any] | None:
    """What a new leaf asks the host to do; ``ValueError`` (the host's ``ArgumentException``) for what it refuses."""
    refused = limits.retry_error(leaf.get("retryOptions"))
    if refused is not None:
        raise ValueError(refused)
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        name = leaf["functionName"]
        if catalog.activity(name) is None:
            raise ValueError(unknown_function_message(name, "activity", catalog.activity_names()))
        return {
            "kind": "activity",
            "name": name,
            "input": leaf.get("input"),
            "retry": leaf.get("retryOptions"),
            "attempt": 1,
        }
    if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        name = leaf["functionName"]
        if catalog.orchestrator(name) is None:
            raise ValueError(unknown_function_message(name, "orchestrator", catalog.orchestrator_names()))
        child = leaf.get("instanceId")
        refused = limits.sub_orchestration_id_error(child)
        if refused is not None:
            raise ValueError(refused)
        if child is not None and child.lower() in {
            execution.instance_id.lower(),
            (execution.parent_instance_id or "").lower(),
        }:
            raise ValueError(SAME_INSTANCE_ID_MESSAGE)
        return {
            "kind": "suborch",
            "name": name,
            "input": leaf.get("input"),
            "instanceId": child,
            "retry": leaf.get("retryOptions"),
            "attempt": 1,
            "executionId": execution.execution_id,
        }
    if kind is ActionType.CREATE_TIMER:
        fire_at = h.parse_timestamp(leaf["fireAt"])
        refused = limits.timer_error(fire_at, now, schema if isinstance(schema, int) else None)
        if refused is not None:
            raise ValueError(refused)
        return {"kind": "timer", "fireAt": h.format_timestamp(fire_at)}
    if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
        target = str(leaf.get("instanceId") or "")
        name, _ = entities.parse_scheduler_id(target)
        if catalog.entity(name) is None:
            known = catalog.entity_names()
            raise ValueError(unknown_entity_message(name, known, any_orchestrator=bool(catalog.orchestrator_names())))
        return {
            "kind": "entity",
            "target": target,
            "operation": leaf.get("operation"),
            "input": leaf.get("input"),
            "signal": kind is ActionType.SIGNAL_ENTITY,
        }
    if kind is ActionType.WAIT_FOR_EXTERNAL_EVENT:
        return None
    raise ValueError(f"The devhost does not support the {kind.name} action (call_http is not emulated).")


def _schedule(
    record: dict[str, Any],
    task_id: int,
    state: EngineState,
    result: EpisodeResult,
    now: datetime,
    *,
    execution_id: str | None,
) -> None:
    if record["kind"] == "activity":
        result.appended.append(h.new_task_scheduled(now, task_id, name=record["name"], input_text=record["input"]))
        result.activities.append(ActivityWork(task_id, record["name"], record["input"]))
        result.decisions.append(f"schedules activity {record['name']!r} #{task_id} (attempt {record['attempt']})")
    elif record["kind"] == "entity":
        _send_to_entity(record, task_id, state, result, now, execution_id=execution_id)
    elif record["kind"] == "suborch":
        child = record.get("instanceId") or f"{record.get('executionId') or execution_id}:{task_id}"
        result.appended.append(
            h.new_sub_orchestration_created(
                now, task_id, name=record["name"], instance_id=child, input_text=record["input"]
            )
        )
        result.sub_orchestrations.append(SubOrchestrationWork(task_id, record["name"], child, record["input"]))
        result.decisions.append(f"starts sub-orchestration {record['name']!r} #{task_id} as {child!r}")
    else:
        fire_at = h.parse_timestamp(record["fireAt"])
        result.appended.append(h.new_timer_created(now, task_id, fire_at))
        result.timers.append(TimerWork(task_id, fire_at))
        result.decisions.append(f"creates timer #{task_id} at {record['fireAt']}")


def _send_to_entity(
    record: dict[str, Any],
    task_id: int,
    state: EngineState,
    result: EpisodeResult,
    now: datetime,
    *,
    execution_id: str | None,
) -> None:
    """``EventSent`` in the history (numbered like any task) and the ``op`` message for the entity; a call stays open
    until the event named with its request ID answers it, a signal is done once sent."""
    request_id = entities.deterministic_guid(result.instance_id, now, state.guid_counter)
    state.guid_counter += 1
    request = entities.request_message(
        request_id=request_id,
        operation=str(record["operation"]),
        input_text=entities.encode_input(record.get("input")),
        signal=bool(record["signal"]),
        parent_instance_id=result.instance_id,
        parent_execution_id=execution_id,
        timestamp=h.format_timestamp(now),
    )
    target = str(record["target"])
    result.appended.append(
        h.new_event_sent(now, task_id, instance_id=target, name=entities.REQUEST_EVENT, input_text=request)
    )
    result.entity_messages.append(EntityMessage(target, request))
    if record["signal"]:
        state.tasks.pop(task_id, None)
        result.decisions.append(f"signals entity {target!r} {record['operation']!r} #{task_id}")
    else:
        state.tasks[task_id] = {"kind": "entity", "requestId": request_id, "target": target}
        result.decisions.append(f"calls entity {target!r} {record['operation']!r} #{task_id} as {request_id}")


def _finish(result: EpisodeResult, now: datetime, outcome: Outcome, output: str | None) -> None:
    result.outcome = outcome
    result.output = output
    result.activities.clear()
    result.timers.clear()
    result.sub_orchestrations.clear()
    if outcome is Outcome.FAILED:
        result.entity_messages.clear()
    result.appended.append(h.new_orchestrator_completed(now))
    if outcome is Outcome.CONTINUED_AS_NEW:
        result.appended.append(h.new_continue_as_new(now, result.state.next_id, output))
    else:
        status = OrchestrationStatus[outcome.value]
        result.appended.append(h.new_execution_completed(now, status=status, result=output))
    result.decisions.append(f"ends the execution: {outcome.value}")


def _played(event: HistoryEvent) -> HistoryEvent:
    return {**event, "IsPlayed": True}


def _describe(event: HistoryEvent) -> str:
    name = h.EVENT_TYPE_NAMES.get(EventType(event["EventType"]), str(event["EventType"]))
    ref = event.get("TaskScheduledId", event.get("TimerId", event.get("Name")))
    return f"{name}({ref})" if ref is not None else name
