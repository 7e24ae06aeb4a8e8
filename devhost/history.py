"""Durable history events in the shape the real host hands to the Python SDK (contract §1.3, §1.4).

Keys are DTFx ``DataMember`` names (PascalCase), ``EventType`` is the integer enum value, ``EventId`` /
``IsPlayed`` / ``Timestamp`` are always present, timestamps carry seven fraction digits and ``Z``. The
``new_*`` factories are production code here (the host writes history with them) and test code alike, as in
durabletask's ``internal/helpers.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

HistoryEvent = dict[str, Any]


class EventType(IntEnum):
    """DTFx ``EventType`` values (contract §1.4)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


# DTFx names, as the status API shows them (historyEvents) and as DTFx names event classes.
EVENT_TYPE_NAMES = {
    EventType.EXECUTION_STARTED: "ExecutionStarted",
    EventType.EXECUTION_COMPLETED: "ExecutionCompleted",
    EventType.EXECUTION_FAILED: "ExecutionFailed",
    EventType.EXECUTION_TERMINATED: "ExecutionTerminated",
    EventType.TASK_SCHEDULED: "TaskScheduled",
    EventType.TASK_COMPLETED: "TaskCompleted",
    EventType.TASK_FAILED: "TaskFailed",
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: "SubOrchestrationInstanceFailed",
    EventType.TIMER_CREATED: "TimerCreated",
    EventType.TIMER_FIRED: "TimerFired",
    EventType.ORCHESTRATOR_STARTED: "OrchestratorStarted",
    EventType.ORCHESTRATOR_COMPLETED: "OrchestratorCompleted",
    EventType.EVENT_SENT: "EventSent",
    EventType.EVENT_RAISED: "EventRaised",
    EventType.CONTINUE_AS_NEW: "ContinueAsNew",
    EventType.GENERIC_EVENT: "GenericEvent",
    EventType.HISTORY_STATE: "HistoryState",
    EventType.EXECUTION_SUSPENDED: "ExecutionSuspended",
    EventType.EXECUTION_RESUMED: "ExecutionResumed",
}


class OrchestrationStatus(IntEnum):
    """DTFx ``OrchestrationStatus`` (ExecutionCompleted.OrchestrationStatus); names are the runtimeStatus values."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
RUNNING_STATUSES = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


def format_timestamp(moment: datetime) -> str:
    """``2024-05-01T12:00:00.1234560Z``: the host's format (seven digits, UTC). Fixed width, so it sorts."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_timestamp(text: str) -> datetime:
    """Parse our own stored timestamps and the ISO forms clients send (``Z`` or an offset; 0-7 digits)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    head, sep, rest = value.partition(".")
    if sep:
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def status_time(text: str) -> str:
    """The status API's time format, ``yyyy-MM-ddTHH:mm:ssZ`` (contract §5.4)."""
    return parse_timestamp(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_event(event_type: EventType, timestamp: datetime, *, event_id: int = -1, **fields: Any) -> HistoryEvent:
    """The common envelope: ``EventType``, ``EventId``, ``IsPlayed``, ``Timestamp`` plus type-specific fields."""
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(timestamp),
        **fields,
    }


def new_orchestrator_started(timestamp: datetime) -> HistoryEvent:
    return new_event(EventType.ORCHESTRATOR_STARTED, timestamp)


def new_orchestrator_completed(timestamp: datetime) -> HistoryEvent:
    return new_event(EventType.ORCHESTRATOR_COMPLETED, timestamp)


def new_execution_started(
    timestamp: datetime,
    *,
    name: str,
    instance_id: str,
    execution_id: str,
    input_json: str | None,
    parent: dict[str, Any] | None = None,
) -> HistoryEvent:
    return new_event(
        EventType.EXECUTION_STARTED,
        timestamp,
        Name=name,
        Version="",
        Input=input_json,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Tags=None,
    )


def new_execution_completed(timestamp: datetime, *, status: OrchestrationStatus, result: str | None) -> HistoryEvent:
    return new_event(
        EventType.EXECUTION_COMPLETED, timestamp, OrchestrationStatus=int(status), Result=result, FailureDetails=None
    )


def new_execution_terminated(timestamp: datetime, reason: str | None) -> HistoryEvent:
    return new_event(EventType.EXECUTION_TERMINATED, timestamp, Input=reason)


def new_execution_suspended(timestamp: datetime, reason: str | None) -> HistoryEvent:
    return new_event(EventType.EXECUTION_SUSPENDED, timestamp, Reason=reason)


def new_execution_resumed(timestamp: datetime, reason: str | None) -> HistoryEvent:
    return new_event(EventType.EXECUTION_RESUMED, timestamp, Reason=reason)


def new_task_scheduled(timestamp: datetime, event_id: int, *, name: str, input_text: str | None) -> HistoryEvent:
    # The extension stores the activity's parameters array: ``["<input JSON text>"]`` (contract §4).
    wrapped = None if input_text is None else json.dumps([input_text])
    return new_event(EventType.TASK_SCHEDULED, timestamp, event_id=event_id, Name=name, Version="", Input=wrapped)


def new_task_completed(timestamp: datetime, task_id: int, result: str | None) -> HistoryEvent:
    return new_event(EventType.TASK_COMPLETED, timestamp, TaskScheduledId=task_id, Result=result)


def new_task_failed(timestamp: datetime, task_id: int, *, reason: str, details: str | None) -> HistoryEvent:
    return new_event(
        EventType.TASK_FAILED, timestamp, TaskScheduledId=task_id, Reason=reason, Details=details, FailureDetails=None
    )


def new_sub_orchestration_created(
    timestamp: datetime, event_id: int, *, name: str, instance_id: str, input_text: str | None
) -> HistoryEvent:
    return new_event(
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        timestamp,
        event_id=event_id,
        Name=name,
        Version="",
        InstanceId=instance_id,
        Input=input_text,
    )


def new_sub_orchestration_completed(timestamp: datetime, task_id: int, result: str | None) -> HistoryEvent:
    return new_event(EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, timestamp, TaskScheduledId=task_id, Result=result)


def new_sub_orchestration_failed(
    timestamp: datetime, task_id: int, *, reason: str | None, details: str | None
) -> HistoryEvent:
    return new_event(
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        timestamp,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
        FailureDetails=None,
    )


def new_timer_created(timestamp: datetime, event_id: int, fire_at: datetime) -> HistoryEvent:
    return new_event(EventType.TIMER_CREATED, timestamp, event_id=event_id, FireAt=format_timestamp(fire_at))


def new_timer_fired(timestamp: datetime, timer_id: int, fire_at: datetime) -> HistoryEvent:
    return new_event(EventType.TIMER_FIRED, timestamp, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def new_event_raised(timestamp: datetime, name: str, input_text: str | None) -> HistoryEvent:
    return new_event(EventType.EVENT_RAISED, timestamp, Name=name, Input=input_text)


def new_event_sent(timestamp: datetime, event_id: int, *, instance_id: str, name: str, input_text: str) -> HistoryEvent:
    """DTFx ``EventSentEvent``: what an orchestration sent to another instance (an entity's ``op`` message)."""
    return new_event(
        EventType.EVENT_SENT, timestamp, event_id=event_id, InstanceId=instance_id, Name=name, Input=input_text
    )


def new_continue_as_new(timestamp: datetime, event_id: int, input_text: str | None) -> HistoryEvent:
    return new_event(EventType.CONTINUE_AS_NEW, timestamp, event_id=event_id, Result=input_text)
