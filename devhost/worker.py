"""The dispatcher: runs orchestration episodes and activities, fires timers, drives the virtual clock.

One asyncio task on the host loop. Store access stays on this loop; the SDK replay runs on the orchestrator
pool and activities on the activity pool, each bounded by host.json's ``maxConcurrent*Functions``. With the
virtual clock, when nothing can run (no episode, no activity, no function invocation in flight, nothing
arrived during a short real-time grace period) the clock jumps to the earliest due timer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost import bookkeeping, engine, entities
from devhost import history as h
from devhost.breakpoints import Breakpoints
from devhost.clock import Clock, ClockSyncError
from devhost.config import HostSettings
from devhost.invoke import Invoker, bind
from devhost.loader import FunctionIndex, FunctionSpec
from devhost.stats import Stats
from devhost.store import ActivityItem
from devhost.taskhub import EntityBatch, EpisodePlan, TaskHub

log = logging.getLogger(__name__)
decisions_log = logging.getLogger("devhost.replay")


class Dispatcher:
    def __init__(
        self,
        *,
        hub: TaskHub,
        index: FunctionIndex,
        invoker: Invoker,
        clock: Clock,
        settings: HostSettings,
        stats: Stats,
        client_binding: str,
        idle_grace: float,
    ) -> None:
        self.hub = hub
        self.index = index
        self.invoker = invoker
        self.clock = clock
        self.settings = settings
        self.stats = stats
        self.client_binding = client_binding
        self.idle_grace = idle_grace
        self._wake = asyncio.Event()
        self._last_arrival = time.monotonic()
        self._busy = 0
        self._instances: set[str] = set()
        self._entities: set[str] = set()
        self._activities: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        # Instances whose episodes wait (``/_devhost/instances/{id}/hold``): their messages queue up and the next
        # episode after the release takes them all, as the host does with what queued up while an instance was
        # idle, so a race such as a cancel arriving with an activity result can be reproduced on purpose.
        self.held: set[str] = set()
        self.breakpoints = Breakpoints()  # ``/_devhost/breakpoints``: stop a named activity's run on purpose
        # Instance IDs (or their prefixes) armed to end the process like ``kill -9`` at a continue-as-new, just before
        # or just after that episode's commit (``/_devhost/instances/{id}/crash-at-continue-as-new``): a crash at
        # exactly the moment an eternal orchestration hands its state to its next execution.
        self.crash_at_continue: dict[str, str] = {}

    # -- signals from the HTTP side -------------------------------------------------------------------------
    def notify(self) -> None:
        """Something changed inside the host (finished work, new message): look again."""
        self._wake.set()

    def arrived(self) -> None:
        """Work arrived from outside (a start, an event, a control request): look again, and restart the
        virtual clock's grace period, so requests still in flight from the same client can land first."""
        self._last_arrival = time.monotonic()
        self._wake.set()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark a function invocation in flight: the virtual clock must not move meanwhile."""
        self._busy += 1
        self.arrived()
        try:
            yield
        finally:
            self._busy -= 1
            self.arrived()

    @property
    def idle(self) -> bool:
        return not (self._busy or self._instances or self._entities or self._activities)

    # -- the loop -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                self._fill()
            except Exception:
                log.exception("host error while looking for work; retrying in 1 s")
                await asyncio.sleep(1)
                continue
            if not self.idle:
                await self._wake.wait()
            elif self.clock.virtual:
                await self._idle_virtual()
            else:
                await self._idle_real()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _idle_virtual(self) -> None:
        """Nothing runs: after the grace period since the last arrival, jump to the earliest due timer.

        Internal progress (episodes, activities, timers) does not restart the grace period, so a long chain of
        timer-driven steps costs no waiting; only work coming from outside does.
        """
        remaining = self.idle_grace - (time.monotonic() - self._last_arrival)
        if remaining > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
            return
        due = self.hub.store.next_due(self.clock.now())
        if due is None or not self.clock.auto_advance:
            await self._wake.wait()  # nothing scheduled, or held: wait for work or a manual advance
            return
        target = h.parse_timestamp(due)
        try:
            await self.clock.advance_to(target)
        except ClockSyncError as exc:
            # The emulator must move first; while it is unreachable (restarting) virtual time stands still.
            log.warning("cannot advance the virtual clock yet: %s", exc)
            await asyncio.sleep(0.5)
            return
        self.stats.clock_advances += 1
        log.debug("virtual clock advanced to %s", due)

    async def _idle_real(self) -> None:
        now = self.clock.now()
        due = self.hub.store.next_due(now)
        timeout = None if due is None else max(0.0, (h.parse_timestamp(due) - now).total_seconds()) + 0.001
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _fill(self) -> None:
        now = self.clock.now()
        free = self.settings.max_orchestrators - len(self._instances)
        free_entities = self.settings.max_entities - len(self._entities)
        if free > 0 or free_entities > 0:
            busy = self._instances | self._entities | self.held
            for instance_id in self.hub.store.runnable_instances(now, free + free_entities, busy):
                if entities.is_entity_id(instance_id):
                    if len(self._entities) < self.settings.max_entities:
                        self._entities.add(instance_id)
                        self._spawn(self._entity_batch(instance_id))
                elif len(self._instances) < self.settings.max_orchestrators:
                    self._instances.add(instance_id)
                    self._spawn(self._episode(instance_id))
        free = self.settings.max_activities - len(self._activities)
        for item in self.hub.store.pending_activities(free, self._activities):
            self._activities.add(item.id)
            self._spawn(self._activity(item))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- episodes -------------------------------------------------------------------------------------------
    async def _episode(self, instance_id: str) -> None:
        try:
            plan = self.hub.plan(instance_id, self.clock.now())
            if plan.kind == "replay":
                await self._replay(plan)
            elif plan.kind == "drop" and not plan.consumed:
                log.warning("instance=%s has messages nothing can consume yet; looking again in 1 s", instance_id)
                await asyncio.sleep(1)
            elif plan.kind == "drop":
                self.hub.drop(plan)
            else:
                self.hub.commit_control(plan, self.clock.now())
                log.info("instance=%s %s", instance_id, plan.kind)
        except Exception:
            log.exception("host error while running an episode of %s; retrying in 1 s", instance_id)
            await asyncio.sleep(1)
        finally:
            self._instances.discard(instance_id)
            self.notify()

    async def _replay(self, plan: EpisodePlan) -> None:
        assert plan.execution is not None
        execution = plan.execution
        now = _not_before(self.clock.now(), execution.history)
        spec = self.index.orchestrators.get(execution.name.lower())
        handle = _handle_of(spec, self.index, execution.name)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.invoker.orchestrator_pool, engine.run_episode, handle, self.index, execution, plan.new_events, now
        )
        took = time.perf_counter() - started
        crash = next((w for p, w in self.crash_at_continue.items() if execution.instance_id.startswith(p)), None)
        continues = result.outcome is engine.Outcome.CONTINUED_AS_NEW
        if continues and crash == "before-commit":
            _die(f"crash point: {execution.instance_id} continues as new, before the commit")
        self.hub.commit_episode(plan, result, now)
        if continues and crash == "after-commit":
            _die(f"crash point: {execution.instance_id} continued as new, after the commit")
        self.stats.record_episode(result.cpu_seconds, took)
        self.stats.function_executions += 1  # the orchestrator function ran once (invoked outside Invoker.call)
        outcome = "Failed" if result.outcome is engine.Outcome.FAILED else "Succeeded"
        log.info(
            "Executed 'Functions.%s' (%s, Duration=%.0fms) instance=%s status=%s",
            spec.name if spec else execution.name,
            outcome,
            took * 1000,
            execution.instance_id,
            result.outcome.value,
        )
        if result.outcome is engine.Outcome.FAILED:
            log.warning("instance=%s failed: %s\n%s", execution.instance_id, result.output, result.traceback)
        for decision in result.decisions:
            decisions_log.debug("instance=%s %s", execution.instance_id, decision)

    # -- entities -------------------------------------------------------------------------------------------
    async def _entity_batch(self, instance_id: str) -> None:
        """Run the entity's queued operations as one function call and commit its effects in one transaction."""
        try:
            batch = self.hub.plan_entity(instance_id, self.clock.now(), self.settings.max_entity_batch)
            if not batch.requests:
                self.hub.drop_messages(batch.consumed)
                return
            result = await self._execute_entity(batch)
            self.hub.commit_entity_batch(batch, result, self.clock.now())
            self.stats.entity_batches += 1
            self.stats.entity_operations += len(batch.requests)
        except Exception:
            log.exception("host error while running a batch of entity %s; retrying in 1 s", instance_id)
            await asyncio.sleep(1)
        finally:
            self._entities.discard(instance_id)
            self.notify()

    async def _execute_entity(self, batch: EntityBatch) -> entities.BatchResult:
        entity = batch.entity
        spec = self.index.entities.get(entity.name.lower())
        if spec is None:  # its function is gone (the app changed): callers get the extension's error
            message = bookkeeping.unknown_entity_message(
                entity.name, self.index.entity_names(), any_orchestrator=bool(self.index.orchestrators)
            )
            failed = entities.OperationResult(json.dumps(message), is_error=True)
            return entities.BatchResult(entity.entity_exists, entity.state, [failed] * len(batch.requests), [])
        body = entities.batch_context(
            entity.name, entity.entity_key, exists=entity.entity_exists, state=entity.state, requests=batch.requests
        )
        args = bind(spec, func.EntityContext(body), self.client_binding)
        returned = await self.invoker.call(
            spec, args, pool=self.invoker.orchestrator_pool, instance_id=entity.instance_id
        )
        return entities.parse_batch_result(returned, len(batch.requests))

    # -- activities -----------------------------------------------------------------------------------------
    async def _activity(self, item: ActivityItem) -> None:
        self.stats.activity_started()
        failed = True
        try:
            attempt = self.hub.store.record_attempt(item)
            await self.breakpoints.reached(item, attempt=attempt, at="start")
            event = await self._execute_activity(item)
            await self.breakpoints.reached(item, attempt=attempt, at="end")
            failed = event["EventType"] == h.EventType.TASK_FAILED
            if not self.hub.complete_activity(item.id, item.instance_id, item.execution_id, event):
                log.info(
                    "instance=%s dropped the result of activity #%s (no longer awaited)", item.instance_id, item.task_id
                )
        except Exception:
            log.exception("host error while running activity %s of %s", item.name, item.instance_id)
            await asyncio.sleep(1)
        finally:
            self.stats.activity_finished(failed=failed)
            self._activities.discard(item.id)
            self.notify()

    async def _execute_activity(self, item: ActivityItem) -> dict[str, Any]:
        spec = self.index.activities.get(item.name.lower())
        now = self.clock.now
        if spec is None:
            message = bookkeeping.unknown_function_message(item.name, "activity", self.index.activity_names())
            return h.new_task_failed(now(), item.task_id, reason=message, details=None)
        value = None
        if item.input is not None:
            value = ActivityTriggerConverter.decode(meta.Datum(item.input, "string"), trigger_metadata=None)
        args = bind(spec, value, self.client_binding)
        try:
            returned = await self.invoker.call(
                spec, args, pool=self.invoker.activity_pool, instance_id=item.instance_id
            )
            encoded = ActivityTriggerConverter.encode(returned, expected_type=None)
        except Exception as exc:
            log.warning("activity %s failed (instance=%s)", spec.name, item.instance_id, exc_info=True)
            reason, details = activity_failure(item.name, exc)
            return h.new_task_failed(now(), item.task_id, reason=reason, details=details)
        return h.new_task_completed(now(), item.task_id, encoded.value)


def _die(reason: str) -> None:
    """End the process at once, as ``kill -9`` would: no cleanup, no flush, SQLite left as the last commit left it."""
    log.warning("%s: exiting like kill -9", reason)
    os._exit(137)


def activity_failure(name: str, exc: BaseException) -> tuple[str, str]:
    """``TaskFailed``'s ``Reason`` and ``Details`` for a Python activity's exception, as the real host records them.

    The worker reports ``"<Type>: <message>"`` (azure-functions-python-worker ``_serialize_exception``); the host
    wraps it in ``RpcException("Result: Failure\\nException: <message>\\nStack: <stack>")``; the extension cuts
    the text between ``\\nException:`` and ``\\nStack:`` (keeping the blank after the colon) into a new
    ``Exception`` whose inner exception is the RPC one, and records ``Reason = "Activity function '<name>' failed:
    " + that text`` (two blanks) and ``Details`` = that exception serialized with type names
    (Azure/azure-functions-durable-extension ``TaskActivityShim.RunAsync``, ``OutOfProcExceptionHelpers``,
    ``ErrorSerializerSettingsFactory``; azure-functions-host ``RpcException``)."""
    message = f"{type(exc).__name__}: {exc}"
    stack = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    friendly = " " + message

    def dotnet(type_name: str, assembly: str, text: str, inner: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "$type": f"{type_name}, {assembly}",
            "ClassName": type_name,
            "Message": text,
            "Data": None,
            "InnerException": inner,
            "HelpURL": None,
            "StackTraceString": None,
            "RemoteStackTraceString": None,
            "RemoteStackIndex": 0,
            "ExceptionMethod": None,
            "HResult": -2146233088,
            "Source": None,
            "WatsonBuckets": None,
        }

    rpc = dotnet(
        "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
        "Microsoft.Azure.WebJobs.Script",
        f"Result: Failure\nException: {message}\nStack: {stack}",
        None,
    )
    details = dotnet("System.Exception", "System.Private.CoreLib", friendly, rpc)
    return f"Activity function '{name}' failed: {friendly}", json.dumps(details)


def _handle_of(spec: FunctionSpec | None, index: FunctionIndex, name: str) -> engine.Handle:
    if spec is None:
        message = bookkeeping.unknown_function_message(name, "orchestrator", index.orchestrator_names())

        def missing(_: str) -> str:
            raise ValueError(message)

        return missing
    user = spec.func
    return lambda body: user(context=func.OrchestrationContext(body))


def _not_before(now: datetime, history: list[dict[str, Any]]) -> datetime:
    """OrchestratorStarted timestamps never go backwards (contract §1.5), whatever the clock did."""
    for event in reversed(history):
        if event["EventType"] == h.EventType.ORCHESTRATOR_STARTED:
            return max(now, h.parse_timestamp(event["Timestamp"]))
    return now
