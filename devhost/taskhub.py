"""The task hub: the rules of instances (start, events, control, episodes' effects), on top of the store.

Everything here runs on the host's event-loop thread, and every operation is one SQLite transaction, so two
concurrent starts of the same instance id serialise and exactly one wins (the real host refuses to start an
instance whose id is Running/Pending by default: ``overridableExistingInstanceStates``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost import bookkeeping, entities
from devhost import history as h
from devhost.engine import EngineState, EpisodeResult, Execution, Outcome
from devhost.history import RUNNING_STATUSES, TERMINAL_STATUSES, EventType, HistoryEvent, OrchestrationStatus
from devhost.store import EntityRow, Instance, Message, Store

CONTROL_EVENTS = (EventType.EXECUTION_TERMINATED, EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED)


class InstanceExistsError(Exception):
    """DTFx ``OrchestrationAlreadyExistsException``."""

    def __init__(self, status: str) -> None:
        super().__init__(f"An Orchestration instance with the status {status} already exists.")
        self.status = status


@dataclass(frozen=True)
class ParentRef:
    instance_id: str
    execution_id: str
    name: str
    task_id: int


@dataclass
class EpisodePlan:
    """What the dispatcher does next for one instance: replay, a control step, or just drop stale messages."""

    kind: str  # "replay" | "terminate" | "suspend" | "resume" | "drop"
    instance: Instance | None
    consumed: list[Message]
    execution: Execution | None = None
    new_events: list[HistoryEvent] = field(default_factory=list)


@dataclass
class EntityBatch:
    """One entity's next batch: its stored state and the queued operations it takes (in arrival order)."""

    entity: EntityRow
    consumed: list[Message]
    requests: list[entities.Request]


class TaskHub:
    def __init__(self, store: Store, *, override_any_state: bool = False) -> None:
        self.store = store
        self.override_any_state = override_any_state

    # -- client operations ----------------------------------------------------------------------------------
    def start(
        self, name: str, instance_id: str, input_json: str | None, now: datetime, *, parent: ParentRef | None = None
    ) -> Instance:
        with self.store.transaction():
            existing = self.store.get_instance(instance_id)
            if existing and existing.runtime_status in RUNNING_STATUSES and not self.override_any_state:
                raise InstanceExistsError(existing.runtime_status)
            return self.create(name, instance_id, input_json, now, parent)

    def raise_event(self, instance_id: str, name: str, input_text: str | None, now: datetime) -> None:
        with self.store.transaction():
            self.store.enqueue(instance_id, h.new_event_raised(now, name, input_text))

    def send_control(self, instance_id: str, event: HistoryEvent) -> None:
        """Terminate/suspend/resume travel as messages, handled in order like on Azure (202 Accepted first)."""
        with self.store.transaction():
            self.store.enqueue(instance_id, event)

    def signal_entity(self, instance_id: str, operation: str, input_text: str | None, now: datetime) -> None:
        """A client's signal (``DurableClient.SignalEntityAsyncInternal``: no parent, a new GUID)."""
        request = entities.request_message(
            request_id=str(uuid.uuid4()),
            operation=operation,
            input_text=input_text,
            signal=True,
            parent_instance_id=None,
            parent_execution_id=None,
            timestamp=h.format_timestamp(now),
        )
        with self.store.transaction():
            self.store.enqueue(instance_id, h.new_event_raised(now, entities.REQUEST_EVENT, request))

    def purge(self, instance_id: str) -> int:
        with self.store.transaction():
            if self.store.get_instance(instance_id) is None:
                return 0
            self.store.delete_instance_state(instance_id, keep_row=False)
            return 1

    def purge_where(self, created_from: str, created_to: str, statuses: list[str]) -> int:
        query = "SELECT instance_id FROM instances WHERE created_time >= ? AND created_time <= ?"
        params: list[Any] = [created_from, created_to]
        if statuses:
            query += f" AND runtime_status IN ({','.join('?' for _ in statuses)})"
            params += statuses
        with self.store.transaction() as db:
            ids = [row["instance_id"] for row in db.execute(query, params)]
            for instance_id in ids:
                self.store.delete_instance_state(instance_id, keep_row=False)
        return len(ids)

    def complete_activity(self, item_id: int, instance_id: str, execution_id: str, event: HistoryEvent) -> bool:
        """Record an activity's result; False when nobody waits for it any more (the result is dropped)."""
        with self.store.transaction():
            if not self.store.take_activity(item_id):
                return False
            instance = self.store.get_instance(instance_id)
            if (
                instance is None
                or instance.execution_id != execution_id
                or instance.runtime_status in TERMINAL_STATUSES
            ):
                return False
            self.store.enqueue(instance_id, event, execution_id=execution_id)
            return True

    # -- episodes -------------------------------------------------------------------------------------------
    def plan(self, instance_id: str, now: datetime) -> EpisodePlan:
        messages = self.store.visible_messages(instance_id, now)
        instance = self.store.get_instance(instance_id)
        if instance is None or instance.runtime_status in TERMINAL_STATUSES:
            return EpisodePlan("drop", instance, messages)
        stale = [m for m in messages if m.execution_id and m.execution_id != instance.execution_id]
        live = [m for m in messages if m not in stale]
        terminate = [m for m in live if m.event["EventType"] == EventType.EXECUTION_TERMINATED]
        if terminate:
            return EpisodePlan(
                "terminate", instance, [terminate[0], *stale, *(m for m in live if m is not terminate[0])]
            )
        if instance.runtime_status == "Suspended":
            resume = [m for m in live if m.event["EventType"] == EventType.EXECUTION_RESUMED]
            return (
                EpisodePlan("resume", instance, [resume[0], *stale]) if resume else EpisodePlan("drop", instance, stale)
            )
        if live and live[0].event["EventType"] == EventType.EXECUTION_SUSPENDED:
            return EpisodePlan("suspend", instance, [live[0], *stale])
        if live and live[0].event["EventType"] == EventType.EXECUTION_RESUMED:
            return EpisodePlan("drop", instance, [live[0], *stale])  # resuming a running instance does nothing
        return self._plan_replay(instance, live, stale)

    def _plan_replay(self, instance: Instance, live: list[Message], stale: list[Message]) -> EpisodePlan:
        history = self.store.get_history(instance.instance_id)
        regular: list[Message] = []
        for message in live:
            if message.event["EventType"] in CONTROL_EVENTS:
                break
            regular.append(message)
        starts = [m for m in regular if m.event["EventType"] == EventType.EXECUTION_STARTED]
        if history:
            stale += starts  # a duplicate start for an execution that already began
            regular = [m for m in regular if m not in starts]
        elif not starts:
            return EpisodePlan("drop", instance, stale)
        else:
            regular = [starts[0], *(m for m in regular if m is not starts[0])]
        state = EngineState.from_json(instance.engine)
        count = bookkeeping.select_batch(state, [m.event for m in regular])
        batch = regular[:count]
        if not batch:
            return EpisodePlan("drop", instance, stale)
        execution = Execution(
            instance.instance_id,
            instance.name,
            instance.execution_id,
            instance.input,
            instance.parent_instance_id,
            history,
            state,
        )
        return EpisodePlan("replay", instance, [*batch, *stale], execution, [m.event for m in batch])

    def commit_episode(self, plan: EpisodePlan, result: EpisodeResult, now: datetime) -> None:
        assert plan.instance is not None
        assert plan.execution is not None
        with self.store.transaction():
            self.store.delete_messages([m.id for m in plan.consumed])
            instance = self.store.get_instance(plan.instance.instance_id)
            if instance is None or instance.execution_id != plan.instance.execution_id:
                return  # purged, reset or restarted while the episode ran
            self.store.append_history(instance, result.appended)
            length = instance.history_len + len(result.appended)
            columns: dict[str, Any] = {
                "engine": result.state.to_json(),
                "history_len": length,
                "history_total": instance.history_total + len(result.appended),
                "history_peak": max(instance.history_peak, length),
                "episodes": instance.episodes + 1,
                "replay_cpu": instance.replay_cpu + result.cpu_seconds,
                "last_updated_time": h.format_timestamp(now),
                "runtime_status": "Running",
            }
            if result.custom_status is not None:
                columns["custom_status"] = result.custom_status
            if result.outcome is Outcome.RUNNING:
                self.store.update_instance(instance.instance_id, **columns)
                self._schedule_work(instance, result, now)
            elif result.outcome is Outcome.CONTINUED_AS_NEW:
                self.store.update_instance(instance.instance_id, **columns)
                self._send_entity_messages(result, now)
                self._continue_as_new(instance, result.output, now)
            else:
                columns |= {"runtime_status": result.outcome.value, "output": result.output}
                self.store.update_instance(instance.instance_id, **columns)
                self._send_entity_messages(result, now)
                self._end(instance, result.outcome.value, result.output, now)

    def commit_control(self, plan: EpisodePlan, now: datetime) -> None:
        """Terminate, suspend or resume (DTFx applies them without running the orchestrator)."""
        assert plan.instance is not None
        control = plan.consumed[0].event
        with self.store.transaction():
            self.store.delete_messages([m.id for m in plan.consumed])
            instance = self.store.get_instance(plan.instance.instance_id)
            if instance is None or instance.runtime_status in TERMINAL_STATUSES:
                return
            reason = control.get("Input") if plan.kind == "terminate" else control.get("Reason")
            stamp = h.format_timestamp(now)
            if plan.kind == "terminate":
                events = [
                    h.new_orchestrator_started(now),
                    {**control, "IsPlayed": True},
                    h.new_execution_completed(now, status=OrchestrationStatus.Terminated, result=reason),
                ]
                status: str = "Terminated"
            else:
                events = [{**control, "IsPlayed": True}]
                status = "Suspended" if plan.kind == "suspend" else ("Running" if instance.history_len else "Pending")
            self.store.append_history(instance, events)
            length = instance.history_len + len(events)
            columns: dict[str, Any] = {"runtime_status": status, "last_updated_time": stamp, "history_len": length}
            columns |= {
                "history_total": instance.history_total + len(events),
                "history_peak": max(length, instance.history_peak),
            }
            if plan.kind == "terminate":
                columns["output"] = reason
            self.store.update_instance(instance.instance_id, **columns)
            if plan.kind == "terminate":
                self._end(instance, "Terminated", reason, now)

    # -- entities -------------------------------------------------------------------------------------------
    def plan_entity(self, instance_id: str, now: datetime, max_batch: int) -> EntityBatch:
        """The queued ``op`` messages an entity takes next (at most ``max_batch``, as ``maxEntityOperationBatchSize``);
        anything else addressed to it (not an operation) is dropped with them."""
        name, key = entities.parse_scheduler_id(instance_id)
        entity = self.store.get_entity(instance_id) or EntityRow(
            instance_id, name, key, entity_exists=False, state=None, last_modified=h.format_timestamp(now)
        )
        consumed: list[Message] = []
        requests: list[entities.Request] = []
        for message in self.store.visible_messages(instance_id, now):
            event = message.event
            is_op = event["EventType"] == EventType.EVENT_RAISED and event.get("Name") == entities.REQUEST_EVENT
            if is_op and len(requests) >= max_batch:
                break
            consumed.append(message)
            if is_op:
                requests.append(entities.Request.parse(str(event["Input"])))
        return EntityBatch(entity, consumed, requests)

    def commit_entity_batch(self, batch: EntityBatch, result: entities.BatchResult, now: datetime) -> None:
        """One transaction: the new state, the answers to callers, the entity's own signals (DFX ``SendOutbox``)."""
        stamp = h.format_timestamp(now)
        with self.store.transaction():
            self.store.delete_messages([m.id for m in batch.consumed])
            entity = batch.entity
            entity.entity_exists, entity.state = result.exists, result.state if result.exists else None
            entity.last_modified = stamp
            entity.batches += 1
            entity.operations += len(batch.requests)
            self.store.save_entity(entity)
            for request, outcome in zip(batch.requests, result.results, strict=True):
                if request.signal or not request.parent_instance_id:
                    continue
                answer = entities.response_message(outcome.result, is_error=outcome.is_error)
                event = h.new_event_raised(now, request.id, answer)
                self.store.enqueue(request.parent_instance_id, event, execution_id=request.parent_execution_id)
            for signal in result.signals:
                message = entities.request_message(
                    request_id=str(uuid.uuid4()),
                    operation=signal.operation,
                    input_text=signal.input,
                    signal=True,
                    parent_instance_id=entity.instance_id,
                    parent_execution_id=None,
                    timestamp=stamp,
                )
                self.store.enqueue(signal.target, h.new_event_raised(now, entities.REQUEST_EVENT, message))

    def drop(self, plan: EpisodePlan) -> None:
        self.drop_messages(plan.consumed)

    def drop_messages(self, messages: list[Message]) -> None:
        with self.store.transaction():
            self.store.delete_messages([m.id for m in messages])

    # -- internals ------------------------------------------------------------------------------------------
    def create(
        self, name: str, instance_id: str, input_json: str | None, now: datetime, parent: ParentRef | None
    ) -> Instance:
        """Create (or replace) an instance and queue its ExecutionStarted; the caller holds the transaction."""
        self.store.delete_instance_state(instance_id, keep_row=False)
        execution_id = uuid.uuid4().hex
        stamp = h.format_timestamp(now)
        self.store.db.execute(
            "INSERT INTO instances (instance_id, name, execution_id, runtime_status, input, created_time,"
            " last_updated_time, parent_instance_id, parent_execution_id, parent_task_id)"
            " VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?, ?)",
            (
                instance_id,
                name,
                execution_id,
                input_json,
                stamp,
                stamp,
                parent.instance_id if parent else None,
                parent.execution_id if parent else None,
                parent.task_id if parent else None,
            ),
        )
        self._enqueue_start(instance_id, name, execution_id, input_json, now, parent)
        created = self.store.get_instance(instance_id)
        assert created is not None
        return created

    def _enqueue_start(
        self,
        instance_id: str,
        name: str,
        execution_id: str,
        input_json: str | None,
        now: datetime,
        parent: ParentRef | None,
    ) -> None:
        parent_json = None
        if parent is not None:
            parent_json = {
                "Name": parent.name,
                "Version": "",
                "TaskScheduleId": parent.task_id,
                "OrchestrationInstance": {"InstanceId": parent.instance_id, "ExecutionId": parent.execution_id},
            }
        event = h.new_execution_started(
            now,
            name=name,
            instance_id=instance_id,
            execution_id=execution_id,
            input_json=input_json,
            parent=parent_json,
        )
        self.store.enqueue(instance_id, event, execution_id=execution_id)

    def _schedule_work(self, instance: Instance, result: EpisodeResult, now: datetime) -> None:
        execution_id = instance.execution_id
        for work in result.activities:
            self.store.add_activity(instance.instance_id, execution_id, work.task_id, work.name, work.input)
        for timer in result.timers:
            fired = h.new_timer_fired(timer.fire_at, timer.timer_id, timer.fire_at)
            self.store.enqueue(
                instance.instance_id, fired, execution_id=execution_id, fire_at=timer.fire_at, task_id=timer.timer_id
            )
        for timer_id in result.cancelled_timers:
            self.store.delete_timer(instance.instance_id, execution_id, timer_id)
        for child in result.sub_orchestrations:
            self._start_child(instance, child, now)
        self._send_entity_messages(result, now)

    def _send_entity_messages(self, result: EpisodeResult, now: datetime) -> None:
        """An orchestration's calls and signals: ``op`` events queued for the entities (also sent by an execution that
        ends or continues as new in the same episode, as DTFx sends an episode's messages with its completion)."""
        for message in result.entity_messages:
            self.store.enqueue(message.target, h.new_event_raised(now, entities.REQUEST_EVENT, message.request))

    def _start_child(self, parent: Instance, work: bookkeeping.SubOrchestrationWork, now: datetime) -> None:
        existing = self.store.get_instance(work.instance_id)
        if existing and existing.runtime_status in RUNNING_STATUSES and not self.override_any_state:
            reason = str(InstanceExistsError(existing.runtime_status))
            failed = h.new_sub_orchestration_failed(now, work.task_id, reason=reason, details=None)
            self.store.enqueue(parent.instance_id, failed, execution_id=parent.execution_id)
            return
        ref = ParentRef(parent.instance_id, parent.execution_id, parent.name, work.task_id)
        input_json = None if work.input is None else json.dumps(work.input)
        self.create(work.name, work.instance_id, input_json, now, ref)
        running = self.store.running_children(parent.instance_id)
        if running > parent.peak_children:
            self.store.update_instance(parent.instance_id, peak_children=running)
            parent.peak_children = running

    def _continue_as_new(self, instance: Instance, input_text: str | None, now: datetime) -> None:
        self.store.delete_execution_work(instance.instance_id, instance.execution_id)
        self.store.db.execute("DELETE FROM history WHERE instance_id = ?", (instance.instance_id,))
        execution_id = uuid.uuid4().hex
        input_json = None if input_text is None else json.dumps(input_text)
        self.store.update_instance(
            instance.instance_id,
            execution_id=execution_id,
            input=input_json,
            engine=None,
            history_len=0,
            runtime_status="ContinuedAsNew",
        )
        parent = None
        if instance.parent_instance_id and instance.parent_execution_id and instance.parent_task_id is not None:
            parent = ParentRef(instance.parent_instance_id, instance.parent_execution_id, "", instance.parent_task_id)
        self._enqueue_start(instance.instance_id, instance.name, execution_id, input_json, now, parent)

    def _end(self, instance: Instance, status: str, output: str | None, now: datetime) -> None:
        """Terminal: drop queued work, tell the parent (DTFx sends Failed for Failed and Terminated)."""
        self.store.db.execute("DELETE FROM messages WHERE instance_id = ?", (instance.instance_id,))
        self.store.delete_execution_work(instance.instance_id, instance.execution_id)
        if not instance.parent_instance_id or instance.parent_task_id is None:
            return
        if status == "Completed":
            event = h.new_sub_orchestration_completed(now, instance.parent_task_id, output)
        else:
            event = h.new_sub_orchestration_failed(now, instance.parent_task_id, reason=output, details=None)
        self.store.enqueue(instance.parent_instance_id, event, execution_id=instance.parent_execution_id)
