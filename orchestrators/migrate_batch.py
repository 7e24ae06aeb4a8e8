"""``migrate_batch``: migrate every image of a scope (up to 10,000), at most ``maxConcurrency`` at once, with a
report that can be read while the batch runs; each execution's history stays short whatever the batch's size.

Why this shape. An orchestrator replays its whole history in every episode, so one that starts and awaits N children
replays O(N) events N times: the first design's replay cost grew with the square of the batch (and capped it at
1,000). Durable Functions' remedies are ``continue_as_new``, which restarts an orchestration with a new input and
truncates its history so that it can run indefinitely without the history growing (Learn, "Eternal orchestrations in
Durable Functions"), keeping orchestration inputs and outputs small because they are serialized into the history
(Learn, "Durable Functions best practices and diagnostic tools", "Keep function inputs and outputs as small as
possible"), and splitting work into sub-orchestrations (Learn, "Sub-orchestrations in Durable Functions"). Here:

- execution 1 runs ``fleet_inventory`` (``binv-<key>``), which lists and classifies the scope once; its output, the
  inventory (``migration.inventory``), stays in the task hub and is read a window at a time (``read_inventory``);
- every later execution is one round of a sliding window: start items while fewer than ``maxConcurrency`` run
  (activity ``start_batch_items``), wait for their ``image-<q>`` events or ``cancel``, and ``continue_as_new`` after a
  bounded amount of work (``BATCH_ROUND_TASKS``: each wait counts the tasks it waits on, since the SDK sends them all
  again in every reply, and each activity 2; at the default 40 a round holds about a hundred history events, and
  at a cap of 100 every wait ends a round),
  carrying the :class:`~migration.batch.BatchLedger`: counts, the next ``q``, the running items and a window of the
  queue, so its size depends on the cap, never on the batch;
- each image runs in its own ``migrate_batch_item`` (``orchestrators/batch_item.py``), which runs the image's
  ``migrate_image``, raises ``image-<q>`` on the batch and keeps the image's report row as its output, so the report
  can be read page by page while the batch runs (``triggers/fleet_api.py``).

Not chosen: chunked sub-orchestrations awaited by the batch (the split the Durable docs show for fan-out/fan-in)
leave slots idle while each chunk waits for its slowest migration, which for replications of hours is most of a
chunk's tail; events keep the window sliding across ``continue_as_new``, which a sub-orchestration's completion
cannot cross (it is addressed to the execution that started it). A durable entity as the ledger would also fit, but
the devhost has no entities yet (another change brings them for the app-wide ARM budget); the ledger here is plain
data that moves to an entity without changing the items or the report.

Events and ``continue_as_new``. The extension raises external events without an execution ID, so they reach
whichever execution is current (azure-functions-durable-extension ``DurableClient.RaiseEventInternalAsync``: "to
avoid sending messages to an expired ContinueAsNew instance"), but it continues an out-of-process orchestrator as new
without ``preserveUnprocessedEvents`` (``OutOfProcOrchestrationShim``: ``context.ContinueAsNew(action.Input)``), so
events already delivered to the ending execution and not consumed would be lost. A round therefore continues only
while no activity is in flight, and first applies every ``image-<q>`` and ``cancel`` its history holds
(:meth:`BatchRound.absorb`). Every hour (durable timer) it also looks at its running items, so an item whose event
never came, or that an operator terminated, is still counted.

Cancel: no item is started after it; it is forwarded to every running item, which cancels its migration (the source
is kept) or, if it had not started it, ends ``not-started``; images never started are ``not-started`` in the report.
A crash (``kill -9``) at any point loses nothing: each step is a committed episode or an idempotent activity (items
have deterministic IDs and one that exists is never started again; a duplicate ``image-<q>`` is ignored).

Custom status: the ledger's view (``BatchLedger.status``: counts, the first 20 running migrations),
bounded under the host's 16 KB limit. Output: the report's header (``migration.batch.report_header``), without rows.
Any unexpected exception (a bug) ends the batch ``failed`` with ``UnexpectedError``; started items run to their end.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from migration.batch import BatchLedger, done_event, done_event_q, item_instance_id, report_header
from migration.errors import MigrationError, UnexpectedError
from migration.inventory import inventory_instance_id, left_out
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.episodes import EVENT_RAISED, accept_event_names_any_case
from orchestrators.fleet_steps import Steps, call, failure_info, iso
from orchestrators.steps import CANCEL_EVENT, Cancellation

bp = df.Blueprint()

INVENTORY = "fleet_inventory"
QUEUE_WINDOW = 100  # queue entries read ahead at once: one inventory read per 100 starts
RECONCILE_EVERY = timedelta(hours=1)


def _event_data(value: Any) -> dict[str, Any]:
    """An item's ``image-<q>`` data as a dict. It arrives as JSON text: the SDK's ``raise_event`` posts
    ``json.dumps(data)`` as a JSON body (aiohttp ``json=``), so the host stores a JSON string (azure-functions-durable
    ``DurableOrchestrationClient.raise_event``, ``http_utils.post_async_request``)."""
    for _ in range(2):  # text of text, as stored in the history
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return {}
    return value if isinstance(value, dict) else {}


def list_batch(context: df.DurableOrchestrationContext, data: dict[str, Any]) -> Steps:
    """Execution 1: the inventory, then the first round (``continue_as_new``)."""
    created = iso(context.current_utc_datetime)
    cap = int(data["maxConcurrency"])
    ledger = BatchLedger(batch_id=context.instance_id, state="listing", max_concurrency=cap, created_at=created)
    context.set_custom_status(ledger.status())
    accept_event_names_any_case(context, (CANCEL_EVENT,))
    cancel = Cancellation(context, CANCEL_EVENT)
    payload = {**{key: data[key] for key in ("fleet", "options", "settings")}, "origin": "batch", "skipMigrated": True}
    task = context.call_sub_orchestrator(INVENTORY, payload, inventory_instance_id(context.instance_id))
    try:
        yield from cancel.race(task)
        inventory = yield task  # a cancel during the listing still waits for it (it only reads) to report
        if inventory.get("error"):
            ledger.error = ErrorInfo.model_validate(inventory["error"])
        else:
            ledger.images, ledger.queued = int(inventory["images"]), int(inventory["queued"])
            ledger.skipped, ledger.refused = left_out(inventory)
    except Exception as exc:  # the inventory failed (a bug)
        ledger.error = failure_info(exc)
    if ledger.error is not None:
        ledger.state = "failed"
        context.set_custom_status(ledger.status())
        return report_header(context.instance_id, data, ledger, finished_at=iso(context.current_utc_datetime))
    ledger.state = "running"
    ledger.canceled = cancel.pending()
    if ledger.canceled:
        ledger.state = "canceling"
    context.set_custom_status(ledger.status())
    context.continue_as_new(
        {
            **data,
            "createdAt": created,
            "classifiedAt": inventory["classifiedAt"],
            "ledger": ledger.model_dump(mode="json"),
        }
    )
    return None


class BatchRound:
    """One execution after the listing: a round of the sliding window (rebuilt identically on every replay)."""

    def __init__(self, context: df.DurableOrchestrationContext, data: dict[str, Any]) -> None:
        self.ctx = context
        self.data = data
        self.settings = Settings.model_validate(data["settings"])
        self.ledger = BatchLedger.model_validate(data["ledger"])
        accept_event_names_any_case(context, (CANCEL_EVENT,))
        self.cancel = Cancellation(context, CANCEL_EVENT)
        self.waits = {item.q: context.wait_for_external_event(done_event(item.q)) for item in self.ledger.running}
        self.timer: Any = None
        self.work = 0

    def publish(self) -> None:
        self.ctx.set_custom_status(self.ledger.status())

    def call(self, name: str, payload: dict[str, Any]) -> Steps:
        """A bookkeeping activity (durable retries of transient failures); not interrupted by a cancel, but it
        remembers what resumed us, so that a cancel delivered with its result is seen (``Cancellation.pending``)."""
        self.work += 2
        return (yield from call(self.ctx, name, payload, self.settings, cancel=self.cancel, cancellable=False))

    def execute(self) -> Steps:
        ledger = self.ledger
        try:
            if ledger.canceled and not ledger.cancel_forwarded:
                yield from self.forward_cancel()
            while True:
                if not ledger.canceled and self.cancel.pending():
                    yield from self.on_cancel()
                if not ledger.canceled and ledger.free:
                    yield from self.refill()
                self.publish()
                if not ledger.busy:
                    break
                if self.work >= self.settings.batch_round_tasks:
                    self.continue_as_new()
                    return None
                yield from self.wait()
        except Exception as exc:  # a bug: end failed with a readable reason rather than without a report
            ledger.error = failure_info(exc)
        ledger.state = "failed" if ledger.error else "canceled" if ledger.canceled else "completed"
        self.publish()
        return report_header(self.ctx.instance_id, self.data, ledger, finished_at=iso(self.ctx.current_utc_datetime))

    # --- starting ----------------------------------------------------------------------------------------------
    def refill(self) -> Steps:
        """Start as many queued images as free slots allow, reading the queue ahead a window at a time."""
        ledger = self.ledger
        want = ledger.free
        if len(ledger.window) < want:
            start = ledger.cursor + len(ledger.window)
            count = min(max(QUEUE_WINDOW, want - len(ledger.window)), ledger.queued - start)
            payload = {"inventoryId": inventory_instance_id(self.ctx.instance_id), "start": start, "count": count}
            ledger.window += (yield from self.call("read_inventory", payload))["entries"]
            if self.cancel.pending():  # delivered with the queue: start nothing
                yield from self.on_cancel()
                return
        take, ledger.window = ledger.window[:want], ledger.window[want:]
        if not take or take[0]["q"] != ledger.cursor:
            raise UnexpectedError(f"the inventory has no queued image q={ledger.cursor}")
        payload = {
            "batchId": self.ctx.instance_id,
            "classifiedAt": self.data["classifiedAt"],
            "settings": self.data["settings"],
            "options": self.data["options"],
            "items": [{"entry": entry, "runId": str(self.ctx.new_uuid())} for entry in take],
        }
        yield from self.call("start_batch_items", payload)
        ledger.start(take, iso(self.ctx.current_utc_datetime))
        for entry in take:
            self.waits[entry["q"]] = self.ctx.wait_for_external_event(done_event(entry["q"]))

    # --- waiting -----------------------------------------------------------------------------------------------
    def wait(self) -> Steps:
        """Wait for an item's event, the cancel or the hourly look at the running items; record every item that
        reported (not only the one that woke us)."""
        if self.timer is None:
            self.timer = self.ctx.create_timer(self.ctx.current_utc_datetime + RECONCILE_EVERY)
        waiting = [*self.waits.values(), self.timer]
        if not self.ledger.canceled:
            waiting.append(self.cancel.task)
        winner = yield self.ctx.task_any(waiting)
        self.cancel.resumed(winner)
        self.work += len(waiting)
        if winner is self.timer:
            self.timer = None
            yield from self.reconcile()
        elif winner is self.cancel.task:
            yield from self.on_cancel()
        for q, task in list(self.waits.items()):
            if task.is_completed:
                self.record(q, task.result)

    def record(self, q: int, result: Any) -> None:
        outcome = _event_data(result)
        self.ledger.ended(q, str(outcome.get("outcome") or "failed"), outcome.get("phase"))
        self.waits.pop(q, None)

    def reconcile(self) -> Steps:
        """Count the running items that ended without their event reaching us."""
        qs = [item.q for item in self.ledger.running]
        if not qs:
            return
        try:
            ended = (yield from self.call("batch_item_states", {"batchId": self.ctx.instance_id, "qs": qs}))["ended"]
        except MigrationError:
            return  # the next look will tell
        for q_text, state in ended.items():
            task = self.waits.get(int(q_text))
            if task is not None and not task.is_completed:
                self.record(int(q_text), state)

    # --- canceling ---------------------------------------------------------------------------------------------
    def on_cancel(self) -> Steps:
        self.ledger.canceled = True
        self.ledger.state = "canceling"
        self.ledger.window = []
        self.publish()
        yield from self.forward_cancel()

    def forward_cancel(self) -> Steps:
        """Raise ``cancel`` on every running item (each forwards it to its migration)."""
        ids = [item_instance_id(self.ctx.instance_id, item.q) for item in self.ledger.running]
        if ids:
            payload = {"instanceIds": ids, "event": CANCEL_EVENT, "batchId": self.ctx.instance_id}
            with contextlib.suppress(MigrationError):  # items not reached run to their own end and still report
                yield from self.call("cancel_migrations", payload)
        self.ledger.cancel_forwarded = True

    # --- the next round ----------------------------------------------------------------------------------------
    def continue_as_new(self) -> None:
        self.absorb()
        self.ledger.rounds += 1
        self.publish()
        self.ctx.continue_as_new({**self.data, "ledger": self.ledger.model_dump(mode="json")})

    def absorb(self) -> None:
        """Apply the events this execution received that no task consumed yet (the host drops them when it continues
        as new). Only in the execution's last episode: the history the host sent is then all it will ever hold."""
        for event in self.ctx.histories:
            if event.event_type != EVENT_RAISED:
                continue
            name = getattr(event, "Name", "")
            if name == CANCEL_EVENT and not self.ledger.canceled:
                self.ledger.canceled, self.ledger.cancel_forwarded = True, False
                self.ledger.state, self.ledger.window = "canceling", []
            q = done_event_q(name)
            if q is not None and self.ledger.is_running(q):
                self.record(q, _event_data(getattr(event, "Input", None)))


@bp.orchestration_trigger(context_name="context")
def migrate_batch(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    if "ledger" not in data:
        return (yield from list_batch(context, data))
    return (yield from BatchRound(context, data).execute())
