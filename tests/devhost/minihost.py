"""An in-memory driver around :mod:`devhost.engine` for fast, deterministic engine tests (no I/O, no clock).

Activities are plain callables run inline; timers fire in order of their due time; sub-orchestrations run to
completion inline; entity operations run inline, one batch per message, through the entity's real handle (the
out-of-process protocol of :mod:`devhost.entities`). It exists to exercise the engine's id bookkeeping against the
real SDK, not to be a host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func

from devhost import bookkeeping, engine, entities
from devhost import history as h
from devhost.engine import EngineState, Execution, Outcome
from devhost.worker import activity_failure

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class DictCatalog:
    def __init__(self, activities: list[str], orchestrators: list[str], entities: tuple[str, ...] = ()) -> None:
        self._activities = {name.lower(): name for name in activities}
        self._orchestrators = {name.lower(): name for name in orchestrators}
        self._entities = {name.lower(): name for name in entities}

    def entity(self, name: str) -> str | None:
        return self._entities.get(name.lower())

    def entity_names(self) -> list[str]:
        return list(self._entities.values())

    def activity(self, name: str) -> str | None:
        return self._activities.get(name.lower())

    def orchestrator(self, name: str) -> str | None:
        return self._orchestrators.get(name.lower())

    def activity_names(self) -> list[str]:
        return list(self._activities.values())

    def orchestrator_names(self) -> list[str]:
        return list(self._orchestrators.values())


def handles_of(app: Any) -> dict[str, engine.Handle]:
    """Orchestrator handles of a DFApp, keyed by function name, called as the worker calls them."""
    out: dict[str, engine.Handle] = {}
    for fn in app.get_functions():
        if fn.get_trigger().type == "orchestrationTrigger":
            out[fn.get_function_name()] = _caller(fn.get_user_function())
    return out


def entity_handles_of(app: Any) -> dict[str, engine.Handle]:
    """Entity handles of a DFApp, keyed by lower-case entity name: batch context JSON in, batch result JSON out."""
    return entity_handles(app.get_functions())


def entity_handles(functions: list[Any]) -> dict[str, engine.Handle]:
    """Entity handles by lower-case entity name, called as the worker calls them (``func.EntityContext``)."""
    out: dict[str, engine.Handle] = {}
    for fn in functions:
        trigger = fn.get_trigger()
        if trigger.type == "entityTrigger":
            user = fn.get_user_function()
            name = (getattr(trigger, "entity_name", None) or fn.get_function_name()).lower()
            out[name] = _entity_caller(user)
    return out


def _caller(user: Any) -> engine.Handle:
    def handle(body: str) -> str:
        return str(user(context=func.OrchestrationContext(body)))

    return handle


@dataclass
class Run:
    outcome: Outcome
    output: Any
    history: list[dict[str, Any]]
    episodes: int
    custom_status: Any = None
    actions_log: list[list[str]] = field(default_factory=list)
    custom_statuses: list[Any] = field(default_factory=list)  # every status an episode set, in order


@dataclass
class MiniHost:
    handles: dict[str, engine.Handle]
    activities: dict[str, Callable[[Any], Any]]
    one_event_per_episode: bool = False
    now: datetime = START
    entities: dict[str, engine.Handle] = field(default_factory=dict)
    entity_states: dict[str, tuple[bool, str | None]] = field(default_factory=dict)

    def catalog(self) -> DictCatalog:
        return DictCatalog(list(self.activities), list(self.handles), tuple(self.entities))

    def run(self, name: str, value: Any = None, *, instance_id: str = "inst1", raise_events: Any = ()) -> Run:
        execution = Execution(instance_id, name, "e1", json.dumps(json.dumps(value)), None, [], EngineState())
        queue: list[tuple[datetime, int, dict[str, Any]]] = []
        seq = 0

        def push(at: datetime, event: dict[str, Any]) -> None:
            nonlocal seq
            seq += 1
            queue.append((at, seq, event))

        push(self.now, h.new_execution_started(self.now, name=name, instance_id=instance_id, execution_id="e1",
                                              input_json=execution.input_json))  # fmt: skip
        for event_name, payload in raise_events:
            push(self.now, h.new_event_raised(self.now, event_name, json.dumps(payload)))
        episodes, custom, log = 0, None, []
        statuses: list[Any] = []
        while True:
            due = sorted(item for item in queue if item[0] <= self.now)
            if not due:
                if not queue:
                    raise AssertionError(f"orchestration hangs: {execution.history}")
                self.now = min(item[0] for item in queue)
                continue
            events = [item[2] for item in due]
            count = 1 if self.one_event_per_episode else bookkeeping.select_batch(execution.state, events)
            for item in due[:count]:
                queue.remove(item)
            result = engine.run_episode(self.handles[name], self.catalog(), execution, events[:count], self.now)
            episodes += 1
            log.append(result.decisions)
            custom = json.loads(result.custom_status) if result.custom_status else custom
            if result.custom_status:
                statuses.append(custom)
            execution.history.extend(result.appended)
            execution.state = result.state
            if result.outcome is Outcome.CONTINUED_AS_NEW:
                execution = Execution(instance_id, name, f"e{episodes}", json.dumps(result.output), None, [],
                                      EngineState())  # fmt: skip
                queue = [item for item in queue if item[2]["EventType"] == h.EventType.EVENT_RAISED]
                push(self.now, h.new_execution_started(self.now, name=name, instance_id=instance_id,
                                                      execution_id=execution.execution_id,
                                                      input_json=execution.input_json))  # fmt: skip
                continue
            if result.outcome is not Outcome.RUNNING:
                output = result.output
                if result.outcome is Outcome.COMPLETED and output is not None:
                    output = json.loads(output)
                return Run(result.outcome, output, execution.history, episodes, custom, log, statuses)
            for timer_id in result.cancelled_timers:
                queue = [item for item in queue if item[2].get("TimerId") != timer_id]
            for timer in result.timers:
                push(timer.fire_at, h.new_timer_fired(timer.fire_at, timer.timer_id, timer.fire_at))
            for work in result.activities:
                push(self.now, self._activity(work))
            for child in result.sub_orchestrations:
                push(self.now, self._child(child, instance_id))
            for message in result.entity_messages:
                answer = self._entity(message)
                if answer is not None:
                    push(self.now, answer)

    def _activity(self, work: bookkeeping.ActivityWork) -> dict[str, Any]:
        try:
            value = self.activities[work.name](None if work.input is None else json.loads(work.input))
        except Exception as exc:
            reason, details = activity_failure(work.name, exc)
            return h.new_task_failed(self.now, work.task_id, reason=reason, details=details)
        return h.new_task_completed(self.now, work.task_id, json.dumps(value))

    def _entity(self, message: bookkeeping.EntityMessage) -> dict[str, Any] | None:
        """Run one operation as a batch of one; the answer to a call, None for a signal."""
        name, key = entities.parse_scheduler_id(message.target)
        request = entities.Request.parse(message.request)
        exists, state = self.entity_states.get(message.target, (False, None))
        body = entities.batch_context(name, key, exists=exists, state=state, requests=[request])
        result = entities.parse_batch_result(self.entities[name](body), 1)
        self.entity_states[message.target] = (result.exists, result.state if result.exists else None)
        if request.signal:
            return None
        outcome = result.results[0]
        return h.new_event_raised(
            self.now, request.id, entities.response_message(outcome.result, is_error=outcome.is_error)
        )

    def _child(self, work: bookkeeping.SubOrchestrationWork, parent: str) -> dict[str, Any]:
        child_host = MiniHost(
            self.handles, self.activities, self.one_event_per_episode, self.now, self.entities, self.entity_states
        )
        value = None if work.input is None else json.loads(work.input)
        run = child_host.run(work.name, value, instance_id=work.instance_id)
        if run.outcome is Outcome.COMPLETED:
            return h.new_sub_orchestration_completed(self.now, work.task_id, json.dumps(run.output))
        return h.new_sub_orchestration_failed(self.now, work.task_id, reason=str(run.output), details=None)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _entity_caller(user: Any) -> Callable[[str], str]:
    def call(body: str) -> str:
        return str(user(context=func.EntityContext(body)))

    return call
