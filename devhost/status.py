"""The status payload of the Durable HTTP API (contract §5.4; DFX StatusResponsePayload and DurableClient)."""

from __future__ import annotations

import json
from typing import Any

from devhost.history import EVENT_TYPE_NAMES, EventType, HistoryEvent, OrchestrationStatus, status_time
from devhost.store import Instance


def parse_json_or_text(value: str | None) -> Any:
    """DFX ``ParseToJToken``: JSON when it parses, else the raw (trimmed) text, e.g. a terminate reason."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(
    instance: Instance,
    *,
    show_input: bool = True,
    history: list[HistoryEvent] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.runtime_status,
        "input": parse_json_or_text(instance.input) if show_input else None,
        "customStatus": parse_json_or_text(instance.custom_status),
        "output": parse_json_or_text(instance.output),
        "createdTime": status_time(instance.created_time),
        "lastUpdatedTime": status_time(instance.last_updated_time),
    }
    if history is not None and instance.runtime_status != "Pending":
        payload["historyEvents"] = history_events(history, show_input=show_input, show_output=show_history_output)
    return payload


def history_events(history: list[HistoryEvent], *, show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it: names for EventType, OrchestratorStarted/Completed removed,
    TaskScheduled folded into its completion (``FunctionName``, ``ScheduledTime``, ``Input``), results only
    with ``showHistoryOutput``."""
    scheduled: dict[str, tuple[int, HistoryEvent]] = {}
    drop: set[int] = set()
    out: list[dict[str, Any] | None] = []
    for index, event in enumerate(history):
        item = dict(event)
        kind = EventType(item["EventType"])
        item["EventType"] = EVENT_TYPE_NAMES[kind]
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED):
            scheduled[f"{kind.name}_{item['EventId']}"] = (index, event)
            item.pop("Version", None)
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
            _fold(item, scheduled.get(f"TASK_SCHEDULED_{item.pop('TaskScheduledId', None)}"), drop, show_input)
            _result(item, show_output and kind is EventType.TASK_COMPLETED)
        elif kind in (EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            key = f"SUB_ORCHESTRATION_INSTANCE_CREATED_{item.pop('TaskScheduledId', None)}"
            _fold(item, scheduled.get(key), drop, show_input)
            _result(item, show_output and kind is EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED)
        elif kind is EventType.EXECUTION_STARTED:
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
        elif kind is EventType.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = OrchestrationStatus(item["OrchestrationStatus"]).name
            _result(item, show_output)
        elif kind is EventType.TIMER_FIRED:
            item.pop("TimerId", None)
        elif kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            drop.add(index)
        if not show_input:
            item.pop("Input", None)
        item.pop("EventId", None)
        item.pop("IsPlayed", None)
        out.append(item)
    return [item for index, item in enumerate(out) if index not in drop and item is not None]


def _fold(item: dict[str, Any], scheduled: tuple[int, HistoryEvent] | None, drop: set[int], show_input: bool) -> None:
    if scheduled is None:
        return
    index, event = scheduled
    item["ScheduledTime"] = event["Timestamp"]
    item["FunctionName"] = event.get("Name")
    if show_input:
        item["Input"] = event.get("Input")
    drop.add(index)


def _result(item: dict[str, Any], show: bool) -> None:
    if show:
        item["Result"] = parse_json_or_text(item.get("Result"))
    else:
        item.pop("Result", None)
