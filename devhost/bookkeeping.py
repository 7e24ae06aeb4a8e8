"""The host's bookkeeping of one execution: open tasks, sequence numbers, and which events may share an episode.

The SDK numbers a task when it is first yielded, in leaf order, and the host-owned retry machinery consumes
numbers while the SDK processes a failure or a retry timer, *before* it resumes user code (contract §1.6, §3.1).
So an episode may carry at most one retry-affecting event, and only as its first new event
(:func:`select_batch`); then "retry ids, then the new leaves in order" is exactly the SDK's order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from devhost.history import EventType, HistoryEvent

SAME_INSTANCE_ID_MESSAGE = (
    "The instance ID of a sub-orchestration must be different than the instance ID of a parent orchestration."
)


class Catalog(Protocol):
    """Registered Durable function names (matched case-insensitively, as the extension does)."""

    def activity(self, name: str) -> str | None: ...

    def orchestrator(self, name: str) -> str | None: ...

    def entity(self, name: str) -> str | None: ...

    def activity_names(self) -> list[str]: ...

    def orchestrator_names(self) -> list[str]: ...

    def entity_names(self) -> list[str]: ...


@dataclass
class EngineState:
    """Host bookkeeping for the current execution; persisted with the instance, reset by continue-as-new."""

    next_id: int = 0
    leaf_count: int = 0
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)  # open task id -> what it is
    failed: dict[int, dict[str, Any]] = field(default_factory=dict)  # failed plain tasks, for rewind
    guid_counter: int = 0  # the context's NewGuid counter (entity request IDs)

    def to_json(self) -> str:
        data = {"nextId": self.next_id, "leafCount": self.leaf_count, "tasks": self.tasks, "failed": self.failed}
        if self.guid_counter:
            data["guidCounter"] = self.guid_counter
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str | None) -> EngineState:
        if not text:
            return cls()
        data = json.loads(text)
        tasks = {int(key): value for key, value in data.get("tasks", {}).items()}
        failed = {int(key): value for key, value in data.get("failed", {}).items()}
        return cls(
            next_id=data["nextId"],
            leaf_count=data["leafCount"],
            tasks=tasks,
            failed=failed,
            guid_counter=int(data.get("guidCounter", 0)),
        )

    def allocate(self, record: dict[str, Any]) -> int:
        task_id = self.next_id
        self.next_id += 1
        self.tasks[task_id] = record
        return task_id


@dataclass(frozen=True)
class ActivityWork:
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerWork:
    timer_id: int
    fire_at: datetime


@dataclass(frozen=True)
class EntityMessage:
    """An ``op`` request for an entity (its scheduler ID), from an orchestration's call or signal."""

    target: str
    request: str


@dataclass(frozen=True)
class SubOrchestrationWork:
    task_id: int
    name: str
    instance_id: str
    input: str | None


def is_retry_affecting(state: EngineState, event: HistoryEvent) -> bool:
    """Does the SDK allocate a hidden (retry) id while processing this event?"""
    kind = event["EventType"]
    if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
        record = state.tasks.get(event["TaskScheduledId"])
        return bool(record and record.get("retry"))
    if kind == EventType.TIMER_FIRED:
        record = state.tasks.get(event["TimerId"])
        return bool(record and record["kind"] == "retry")
    return False


def select_batch(state: EngineState, events: Sequence[HistoryEvent]) -> int:
    """How many of ``events`` (in order) one episode may take: a retry-affecting event only comes first."""
    count = 0
    for event in events:
        if count and is_retry_affecting(state, event):
            break
        count += 1
    return count


def unknown_function_message(name: str, kind: str, known: list[str]) -> str:
    """The extension's text for a call to a function that is not registered (DurableTaskExtension.cs)."""
    message = f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. Additional info: "
    if known:
        listed = "', '".join(known)
        return message + f"The following are the known {kind} functions: '{listed}'."
    return message + f"No {kind} functions are currently registered!"


def unknown_entity_message(name: str, known: list[str], *, any_orchestrator: bool) -> str:
    """The extension's text for an entity that is not registered (``GetInvalidEntityFunctionMessage``), quirk
    included: it lists the entity functions whenever any *orchestrator* is registered, even when none is."""
    message = f"The function '{name}' doesn't exist, is disabled, or is not an entity function. Additional info: "
    if any_orchestrator:
        listed = "', '".join(known)
        return message + f"The following are the known entity functions: '{listed}'."
    return message + "No entity functions are currently registered!"
