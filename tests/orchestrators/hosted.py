"""Drive an orchestrator through the SDK's public entry point with histories shaped the way the real host builds
them, independently of ``devhost/``'s engine (the devhost could share a mistake with the code it runs).

What the real host does and this reproduces (the host contract devhost/README.md cites, §1, §3, §4; the
Durable extension's ``OutOfProcOrchestrationShim`` and ``TaskActivityShim``; DTFx ``TaskOrchestrationDispatcher``):

- each episode appends ``OrchestratorStarted`` and the newly arrived events, then one scheduling event per new
  action (``TaskScheduled`` / ``TimerCreated`` with the next sequence number) and ``OrchestratorCompleted``;
- PascalCase keys, integer ``EventType``, timestamps with seven fraction digits and ``Z``, ``IsPlayed`` true on
  every processed event except ``OrchestratorStarted``;
- every message that queued up while the instance was idle is delivered in one episode (``deliver_with`` adds
  events to the episode that carries a given activity's result: key ``name`` for its first result,
  ``name#n`` for the n-th, counting from 0);
- an activity's exception arrives as ``TaskFailed`` with ``Reason`` "Activity function 'X' failed:  <Type>:
  <message>" (two blanks) and the JSON of a .NET ``System.Exception`` wrapping the worker's ``RpcException`` as
  ``Details``;
- a cancelled timer still fires (the SDK ignores it);
- an entity call or signal is an ``EventSent`` named ``op`` carrying the extension's ``RequestMessage`` (the input
  serialized once more), the entity runs it as a batch of one through its real handle (the out-of-process batch
  shape of ``EntityTriggerAttributeBindingProvider`` / ``TaskEntityShim.OutOfProcResult``), and a call's answer is
  an ``EventRaised`` named with the request ID whose input is ``{"result": ...}`` (``exceptionType`` on failure).

Every step's reply is kept; :func:`check_replay` then asserts that each reply's actions are a prefix of the next
(replaying a longer history reproduces every earlier action) and that replaying the whole final history gives
exactly the actions the history records, and the same output.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func

START = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
STEP = timedelta(milliseconds=350)  # an activity's round trip
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")

ORCHESTRATOR_STARTED, EXECUTION_STARTED, ORCHESTRATOR_COMPLETED = 12, 0, 13
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 4, 5, 6
TIMER_CREATED, TIMER_FIRED, EVENT_SENT, EVENT_RAISED, EXECUTION_COMPLETED = 10, 11, 14, 15, 1
CALL_ACTIVITY, CREATE_TIMER, WAIT_FOR_EVENT, WHEN_ANY, WHEN_ALL = 0, 5, 6, 11, 12
CALL_ENTITY, SIGNAL_ENTITY = 7, 9
EXECUTION_ID = "4f2c9d6e0b7a4d1f"

Handle = Callable[[str], str]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def event(kind: int, at: datetime, *, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": kind, "EventId": event_id, "IsPlayed": False, "Timestamp": stamp(at), **fields}


def raised(name: str, value: Any, at: datetime) -> dict[str, Any]:
    """``EventRaised`` as the raiseEvent webhook stores it: ``Input`` = the posted JSON re-serialized."""
    return event(EVENT_RAISED, at, Name=name, Input=json.dumps(value))


def task_failed(task_id: int, name: str, exc: BaseException, at: datetime) -> dict[str, Any]:
    """What the extension records for a Python activity's exception (``TaskActivityShim``; the worker's message
    is ``"<Type>: <message>"``, cut out of the host's ``RpcException`` text after ``\\nException:``)."""
    message = f"{type(exc).__name__}: {exc}"
    rpc = f'Result: Failure\nException: {message}\nStack:   File "/home/site/wwwroot/activities/x.py", line 1'
    details = {
        "$type": "System.Exception, System.Private.CoreLib",
        "ClassName": "System.Exception",
        "Message": " " + message,
        "Data": None,
        "InnerException": {
            "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script",
            "ClassName": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
            "Message": rpc,
            "Data": None,
            "InnerException": None,
            "HResult": -2146233088,
        },
        "HResult": -2146233088,
    }
    reason = f"Activity function '{name}' failed:  {message}"
    return event(TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=json.dumps(details))


def leaves_of(actions: Any) -> list[dict[str, Any]]:
    """Depth-first leaves of the reply's ``actions`` (V2/V3: ``[[...]]`` with nested WhenAny/WhenAll)."""
    out: list[dict[str, Any]] = []

    def visit(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                visit(child)
        elif item["actionType"] in (WHEN_ANY, WHEN_ALL):
            for child in item["compoundActions"]:
                visit(child)
        else:
            out.append(item)

    visit(actions)
    return out


@dataclass
class Step:
    body: str  # the context JSON the SDK was handed
    new_events: list[dict[str, Any]]
    reply: dict[str, Any]
    leaves: list[dict[str, Any]]

    def new_leaves(self, before: int) -> list[dict[str, Any]]:
        return self.leaves[before:]


@dataclass
class Run:
    output: Any
    history: list[dict[str, Any]]
    steps: list[Step]
    custom_statuses: list[Any]
    scheduled: list[str] = field(default_factory=list)  # activity names in the order they were scheduled

    @property
    def custom_status(self) -> Any:
        return self.custom_statuses[-1] if self.custom_statuses else None

    def episode_of(self, activity: str, occurrence: int = 0) -> int:
        """Index of the step (episode) that scheduled ``activity`` (its ``occurrence``-th call)."""
        seen = 0
        for index, step in enumerate(self.steps):
            before = len(self.steps[index - 1].leaves) if index else 0
            for leaf in step.new_leaves(before):
                if leaf["actionType"] == CALL_ACTIVITY and leaf["functionName"] == activity:
                    if seen == occurrence:
                        return index
                    seen += 1
        raise KeyError(activity)


class HostedOrchestration:
    """One orchestration instance on a scripted host: activities answer through ``activities``."""

    def __init__(
        self,
        handle: Handle,
        activities: dict[str, Callable[[Any], Any]],
        *,
        instance_id: str = "mig-hosted-0000000000000000",
        deliver_with: dict[str, list[dict[str, Any]]] | None = None,
        deliver_before: dict[str, list[dict[str, Any]]] | None = None,
        raise_at_start: list[dict[str, Any]] | None = None,
        max_episodes: int = 400,
        entities: dict[str, Handle] | None = None,
    ) -> None:
        self.handle = handle
        self.activities = activities
        self.entities = entities or {}
        self.entity_states: dict[str, tuple[bool, str | None]] = {}
        self.instance_id = instance_id
        self.deliver_with = {k: list(v) for k, v in (deliver_with or {}).items()}
        self.deliver_before = {k: list(v) for k, v in (deliver_before or {}).items()}
        self.raise_at_start = list(raise_at_start or [])
        self.max_episodes = max_episodes
        self.results_of: dict[str, int] = {}

    def run(self, value: Any) -> Run:
        now = START
        input_text = json.dumps(json.dumps(value))  # what start_new stores: a JSON string holding JSON text
        history: list[dict[str, Any]] = []
        started = event(
            EXECUTION_STARTED,
            now,
            Name="orchestrator",
            Version="",
            Input=input_text,
            OrchestrationInstance={"InstanceId": self.instance_id, "ExecutionId": EXECUTION_ID},
            ParentInstance=None,
            Tags=None,
        )
        arriving: list[tuple[datetime, int, dict[str, Any]]] = [(now, 0, started)]
        arriving += [(now, i + 1, e) for i, e in enumerate(self.raise_at_start)]
        order = len(arriving)
        next_id, seen_leaves = 0, 0
        steps: list[Step] = []
        statuses: list[Any] = []
        scheduled: list[str] = []
        for _ in range(self.max_episodes):
            if not arriving:
                raise AssertionError(f"the orchestration waits for nothing that can arrive:\n{history}")
            due = min(at for at, _, _ in arriving)
            now = max(now, due)
            batch = sorted((a for a in arriving if a[0] <= now), key=lambda a: a[1])
            arriving = [a for a in arriving if a[0] > now]
            new_events = [e for _, _, e in batch]
            body = self._context(history, now, new_events, input_text)
            reply = json.loads(self.handle(body))
            leaves = leaves_of(reply.get("actions") or [])
            steps.append(Step(body, new_events, reply, leaves))
            if "customStatus" in reply:
                statuses.append(reply["customStatus"])
            history += [event(ORCHESTRATOR_STARTED, now), *({**e, "IsPlayed": True} for e in new_events)]
            new = leaves[seen_leaves:]
            seen_leaves = len(leaves)
            results: list[tuple[datetime, int, dict[str, Any]]] = []
            for leaf in new:
                kind = leaf["actionType"]
                if kind == WAIT_FOR_EVENT:
                    continue
                task_id, next_id = next_id, next_id + 1
                if kind == CALL_ACTIVITY:
                    name = leaf["functionName"]
                    scheduled.append(name)
                    wrapped = json.dumps([leaf["input"]])
                    history.append(event(TASK_SCHEDULED, now, event_id=task_id, Name=name, Version="", Input=wrapped))
                    if not reply.get("isDone"):
                        results += self._activity(task_id, name, leaf["input"], now)
                elif kind in (CALL_ENTITY, SIGNAL_ENTITY):
                    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.instance_id}/{task_id}"))
                    message = {"op": leaf["operation"], **({"signal": True} if kind == SIGNAL_ENTITY else {})}
                    message |= {"input": json.dumps(leaf["input"]), "id": request_id, "parent": self.instance_id}
                    message |= {"parentExecution": EXECUTION_ID}
                    sent = event(EVENT_SENT, now, event_id=task_id, InstanceId=leaf["instanceId"], Name="op")
                    history.append({**sent, "Input": json.dumps(message)})
                    answer = self._entity(leaf["instanceId"], message)
                    if kind == CALL_ENTITY and not reply.get("isDone"):
                        results.append((now + STEP, 0, event(EVENT_RAISED, now + STEP, Name=request_id, Input=answer)))
                elif kind == CREATE_TIMER:
                    fire_at = datetime.fromisoformat(leaf["fireAt"].replace("Z", "+00:00"))
                    history.append(event(TIMER_CREATED, now, event_id=task_id, FireAt=stamp(fire_at)))
                    fired = event(TIMER_FIRED, fire_at, TimerId=task_id, FireAt=stamp(fire_at))
                    results.append((fire_at, 0, fired))  # fires even if the SDK cancels it later, as on Azure
                else:
                    raise AssertionError(f"this scripted host does not run action type {kind}: {leaf}")
            if reply.get("isDone"):
                history.append(event(ORCHESTRATOR_COMPLETED, now))
                output = reply.get("output")
                history.append(
                    event(
                        EXECUTION_COMPLETED, now, OrchestrationStatus=1, Result=json.dumps(output), FailureDetails=None
                    )
                )
                return Run(output, history, steps, statuses, scheduled)
            history.append(event(ORCHESTRATOR_COMPLETED, now))
            for at, _, item in results:
                order += 1
                arriving.append((at, order, item))
        raise AssertionError(f"no end after {self.max_episodes} episodes")

    def _activity(self, task_id: int, name: str, input_text: str, now: datetime) -> list[tuple[datetime, int, Any]]:
        at = now + STEP
        nth = self.results_of.get(name, 0)
        self.results_of[name] = nth + 1
        key = f"{name}#{nth}" if nth else name
        before = [(at, 0, raised_event) for raised_event in self._take(self.deliver_before, key, at)]
        try:
            value = self.activities[name](json.loads(input_text))
            result = event(TASK_COMPLETED, at, TaskScheduledId=task_id, Result=json.dumps(value))
        except Exception as exc:
            result = task_failed(task_id, name, exc, at)
        after = [(at, 0, raised_event) for raised_event in self._take(self.deliver_with, key, at)]
        return [*before, (at, 0, result), *after]

    def _entity(self, target: str, message: dict[str, Any]) -> str:
        """Run one operation as a batch of one through the entity's handle; the answer a call gets."""
        name, _, key = target[1:].partition("@")
        exists, state = self.entity_states.get(target, (False, None))
        item = {"name": message["op"], "input": message["input"], "isSignal": bool(message.get("signal"))}
        body = {"self": {"name": name, "key": key}, "exists": exists, "state": state, "batch": [item]}
        reply = json.loads(self.entities[name](json.dumps(body)))
        self.entity_states[target] = (bool(reply["entityExists"]), reply["entityState"])
        outcome = reply["results"][0]
        return json.dumps({"result": outcome["result"], **({"exceptionType": "Error"} if outcome["isError"] else {})})

    @staticmethod
    def _take(table: dict[str, list[dict[str, Any]]], name: str, at: datetime) -> list[dict[str, Any]]:
        events = table.pop(name, [])
        return [{**e, "Timestamp": stamp(at)} for e in events]

    def _context(self, history: list[dict[str, Any]], now: datetime, new: list[dict[str, Any]], input_text: str) -> str:
        """The trigger value with exactly the real host's keys (contract §1.2)."""
        events = [*history, event(ORCHESTRATOR_STARTED, now), *new]
        for item in events:
            assert TIMESTAMP.match(item["Timestamp"]), item
        return json.dumps(
            {
                "history": events,
                "input": json.loads(input_text),
                "instanceId": self.instance_id,
                "isReplaying": bool(history),
                "parentInstanceId": None,
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
                "maximumShortTimerDuration": "6.00:00:00",
                "longRunningTimerIntervalDuration": "3.00:00:00",
                "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
            }
        )


def _without_cancel_flag(leaf: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in leaf.items() if k != "isCanceled"}


def check_replay(handle: Handle, run: Run) -> None:
    """Every step's actions are reproduced by every later replay; the full history replays to itself."""
    for earlier, later in zip(run.steps, run.steps[1:], strict=False):
        assert [_without_cancel_flag(x) for x in later.leaves[: len(earlier.leaves)]] == [
            _without_cancel_flag(x) for x in earlier.leaves
        ], "a replay changed an action it had already taken"
    again = json.loads(handle(run.steps[-1].body))
    assert again == run.steps[-1].reply, "the same history gave another answer"
    played = [{**e, "IsPlayed": e["EventType"] != ORCHESTRATOR_STARTED} for e in run.history]
    final = json.loads(
        handle(
            json.dumps(
                {
                    **json.loads(run.steps[-1].body),
                    "history": [*played, event(ORCHESTRATOR_STARTED, START + timedelta(days=400))],
                    "isReplaying": True,
                }
            )
        )
    )
    assert final["isDone"] is True
    assert final.get("output") == run.output
    recorded = [(e["Name"], json.loads(e["Input"])[0]) for e in run.history if e["EventType"] == TASK_SCHEDULED]
    replayed = [(leaf["functionName"], leaf["input"]) for leaf in leaves_of(final["actions"]) if "functionName" in leaf]
    assert replayed == recorded, "the full replay asks for other activities than the history records"


def handle_of(functions: list[Any], name: str) -> Handle:
    """The orchestrator's handle as the Python worker calls it (``func.OrchestrationContext`` around the JSON)."""
    for fn in functions:
        if fn.get_function_name() == name:
            user = fn.get_user_function()
            return lambda body: str(user(context=func.OrchestrationContext(body)))
    raise KeyError(name)
