"""What the orchestrators read from their own history: external event names, and what one episode delivered.

Two host behaviours the Python SDK does not hide (both reproduced by ``devhost/`` and checked in tests):

- The Durable host matches external event names case-insensitively, the SDK exactly (``wait_for_external_event``
  keys its task by the name; a ``Cancel`` raised through the built-in ``raiseEvent`` endpoint would never
  complete a wait for ``cancel``). :func:`accept_event_names_any_case` gives our event names the host's
  matching.
- The host hands every message that queued up while an instance was idle to one episode, and the SDK applies
  them one at a time, resuming the orchestrator after each. Code that runs after an activity result therefore
  does not yet see a cancel delivered in the same episode. :func:`raised_by_episode_end` looks ahead to the end
  of the episode that resumed the orchestrator.

Both read only the history the host sent, so every replay gives the same answers (the events of an episode never
change once it is committed).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

import azure.durable_functions as df

# DTFx EventType values (contract §1.4); the SDK keeps them as the integers the host sends.
EXECUTION_STARTED = 0
ORCHESTRATOR_STARTED = 12
EVENT_SENT = 14
EVENT_RAISED = 15
TIMER_FIRED = 11
_BY_TASK_ID = (5, 6, 8, 9)  # TaskCompleted/Failed, SubOrchestrationInstanceCompleted/Failed: TaskScheduledId


def accept_event_names_any_case(context: df.DurableOrchestrationContext, names: Iterable[str]) -> None:
    """Rename every raised event whose name matches one of ``names`` ignoring case to that exact name.

    Call it first thing in the orchestrator: the SDK starts the orchestrator function while it processes
    ``ExecutionStarted``, before any raised event, and reads an event's name only when it reaches it."""
    wanted = {name.lower(): name for name in names}
    for event in context.histories:
        name = getattr(event, "Name", None)
        if event.event_type == EVENT_RAISED and isinstance(name, str) and name.lower() in wanted:
            event.Name = wanted[name.lower()]


def raised_by_episode_end(context: df.DurableOrchestrationContext, resumed_by: Any, name: str) -> bool:
    """Was an event ``name`` raised by the end of the episode in which ``resumed_by`` (the task whose completion
    last resumed the orchestrator) completed? False when that task is unknown or not completed."""
    return first_raised_by_episode_end(context, resumed_by, name) is not None


def first_raised_by_episode_end(context: df.DurableOrchestrationContext, resumed_by: Any, name: str) -> Any:
    """The first ``EventRaised`` named ``name`` up to the end of the episode in which ``resumed_by`` completed, or
    None. Also how to see an event nobody has awaited yet: the SDK applies a raised event only to a task that was
    yielded, so an event waited for by no earlier ``yield`` is visible only in the history."""
    history = context.histories
    index = completion_index(context, resumed_by) if resumed_by is not None else None
    if index is None:
        return None
    end = next(
        (i for i in range(index + 1, len(history)) if history[i].event_type == ORCHESTRATOR_STARTED), len(history)
    )
    return next((e for e in history[:end] if e.event_type == EVENT_RAISED and getattr(e, "Name", None) == name), None)


def raised_in_first_episode(context: df.DurableOrchestrationContext, name: str) -> bool:
    """Was an event ``name`` delivered together with ``ExecutionStarted`` (it was raised before the execution ran)?

    The SDK starts the orchestrator while it processes ``ExecutionStarted``, before such an event, so the code that
    runs first can only see it here."""
    history = context.histories
    start = next((i for i, e in enumerate(history) if e.event_type == EXECUTION_STARTED), None)
    if start is None:
        return False
    end = next(
        (i for i in range(start + 1, len(history)) if history[i].event_type == ORCHESTRATOR_STARTED), len(history)
    )
    return any(e.event_type == EVENT_RAISED and getattr(e, "Name", None) == name for e in history[start:end])


def completion_index(context: df.DurableOrchestrationContext, task: Any) -> int | None:
    """Where in the history ``task`` completed (for a compound task, its child that completed last), or None."""
    return _completion_index(context.histories, task)


def _completion_index(history: list[Any], task: Any) -> int | None:
    children = getattr(task, "children", None)
    if children:
        found = [i for i in (_completion_index(history, child) for child in children) if i is not None]
        return max(found) if found else None
    task_id = getattr(task, "id", None)
    if isinstance(task_id, int):  # an entity call is answered by an event named with its request ID (EventSent)
        task_id = _entity_request_id(history, task_id) or task_id
    for index, event in enumerate(history):
        kind = event.event_type
        if isinstance(task_id, int) and (
            (kind in _BY_TASK_ID and event.TaskScheduledId == task_id)
            or (kind == TIMER_FIRED and getattr(event, "TimerId", None) == task_id)
        ):
            return index
        if isinstance(task_id, str) and kind == EVENT_RAISED and getattr(event, "Name", None) == task_id:
            return index
    return None


def _entity_request_id(history: list[Any], task_id: int) -> str | None:
    for event in history:
        if event.event_type == EVENT_SENT and event.event_id == task_id:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                return str(json.loads(event.Input)["id"])
    return None
