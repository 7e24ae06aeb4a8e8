"""Rewind a Failed instance (``POST instances/{id}/rewind``): forget the failures of plain activities and
sub-orchestrations, queue the failed execution's open work again, and replay.

Retry-exhausted tasks are not rewound (their hidden sequence numbers cannot be taken back), and an orchestrator
that fails by itself fails again. Runs on the host loop, in one transaction, like every task hub operation.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devhost import history as h
from devhost.bookkeeping import EngineState
from devhost.history import RUNNING_STATUSES, EventType
from devhost.store import Instance
from devhost.taskhub import ParentRef, TaskHub


def rewind(hub: TaskHub, instance_id: str, reason: str | None, now: datetime) -> None:
    """Rewind a Failed instance: forget the failures of plain activities/sub-orchestrations, run them again.

    The failed execution's open work (activities, timers) is queued again and a GenericEvent triggers a
    replay; an orchestrator that fails by itself fails again. Retry-exhausted tasks are not rewound.
    """
    with hub.store.transaction():
        instance = hub.store.get_instance(instance_id)
        if instance is None or instance.runtime_status != "Failed":
            return
        state = EngineState.from_json(instance.engine)
        failures = (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED)
        kept = [
            e
            for e in hub.store.get_history(instance_id)
            if not (e["EventType"] in failures and e.get("TaskScheduledId") in state.failed)
            and e["EventType"] != EventType.EXECUTION_COMPLETED
        ]
        state.tasks.update(state.failed)
        state.failed.clear()
        hub.store.db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
        instance.history_len = 0
        hub.store.append_history(instance, kept)
        hub.store.update_instance(
            instance_id,
            runtime_status="Running",
            output=None,
            engine=state.to_json(),
            history_len=len(kept),
            last_updated_time=h.format_timestamp(now),
        )
        _requeue(hub, instance, state, now)
        rewound = h.new_event(EventType.GENERIC_EVENT, now, Data=f"Rewind: {reason or ''}")
        hub.store.enqueue(instance_id, rewound, execution_id=instance.execution_id)


def _requeue(hub: TaskHub, instance: Instance, state: EngineState, now: datetime) -> None:
    for task_id, record in state.tasks.items():
        if record["kind"] == "activity":
            hub.store.add_activity(
                instance.instance_id, instance.execution_id, task_id, record["name"], record["input"]
            )
        elif record["kind"] in ("timer", "retry"):
            fire_at = h.parse_timestamp(record["fireAt"])
            fired = h.new_timer_fired(fire_at, task_id, fire_at)
            hub.store.enqueue(
                instance.instance_id, fired, execution_id=instance.execution_id, fire_at=fire_at, task_id=task_id
            )
        elif record["kind"] == "suborch":
            _requeue_child(hub, instance, task_id, record, now)


def _requeue_child(hub: TaskHub, instance: Instance, task_id: int, record: dict[str, Any], now: datetime) -> None:
    child_id = record.get("instanceId") or f"{record.get('executionId')}:{task_id}"
    child = hub.store.get_instance(child_id)
    if child is not None and child.runtime_status in RUNNING_STATUSES:
        return  # it reports back when it ends
    if child is not None and child.runtime_status == "Completed":
        event = h.new_sub_orchestration_completed(now, task_id, child.output)
        hub.store.enqueue(instance.instance_id, event, execution_id=instance.execution_id)
        return
    ref = ParentRef(instance.instance_id, instance.execution_id, instance.name, task_id)
    input_json = None if record["input"] is None else json.dumps(record["input"])
    hub.create(record["name"], child_id, input_json, now, ref)
