"""``migrate_batch_item``: one image of a batch. Runs the image's ``migrate_image``, tells the batch, keeps the row.

The batch starts one item per image it migrates (activity ``start_batch_items``, through the Durable client) under
``bitem-<key>-<q:05d>``. The item:

1. calls ``migrate_image`` as a sub-orchestration under the image's own instance ID (``mig-...``), so a batch and a
   tag trigger never migrate the same image twice: the host refuses to start an ID that is running, and the row
   then says the image is being migrated elsewhere;
2. forwards a ``cancel`` raised on it (by the batch) to that migration: its source is kept; an item canceled before
   it ran starts nothing (``not-started``);
3. raises ``image-<q>`` on the batch with the outcome (activity ``notify_batch``), which frees the batch's slot;
4. ends with the image's report row (``migration.batch.ImageResult``) as its output: the report reads it there,
   also while the batch runs.

Why an item between the batch and the migration: the batch continues as new to keep its history short, and a
sub-orchestration's completion only reaches the execution that started it; an external event reaches whichever
execution is current (the host raises events without an execution ID: azure-functions-durable-extension
``DurableClient.RaiseEventInternalAsync``, "to avoid sending messages to an expired ContinueAsNew instance").
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from migration.batch import ImageResult, crashed_row, done_event, finished_row, not_started_row
from migration.errors import MigrationError
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.episodes import accept_event_names_any_case, raised_in_first_episode
from orchestrators.steps import CANCEL_EVENT, Cancellation, Steps, call, iso

bp = df.Blueprint()

CHILD = "migrate_image"
# A cancel may reach the item before its migration is visible to the Durable client (on Azure Storage a
# sub-orchestration's instance row appears with its first episode): look again a few times before giving up.
FORWARD_ATTEMPTS = 6
FORWARD_RETRY = timedelta(seconds=10)


class ItemRun:
    def __init__(self, context: df.DurableOrchestrationContext, data: dict[str, Any]) -> None:
        self.ctx = context
        self.batch_id: str = data["batchId"]
        self.q: int = int(data["q"])
        self.entry: dict[str, Any] = data["entry"]
        self.instance_id: str = self.entry["instanceId"]
        self.child_input: dict[str, Any] | None = data.get("child")
        self.error = ErrorInfo.model_validate(data["error"]) if data.get("error") else None
        self.settings = Settings.model_validate(data["settings"])
        accept_event_names_any_case(context, (CANCEL_EVENT,))
        self.cancel = Cancellation(context, CANCEL_EVENT)
        self.started = iso(context.current_utc_datetime)

    def execute(self) -> Steps:
        self.ctx.set_custom_status({"q": self.q, "instanceId": self.instance_id, "startedAt": self.started})
        if raised_in_first_episode(self.ctx, CANCEL_EVENT):
            row = not_started_row(self.entry, self.instance_id)
        elif self.error is not None or self.child_input is None:  # the image's request turned out invalid
            error = self.error or ErrorInfo(code="InvalidRequest", message="no migration request for this image")
            row = ImageResult(source_image_id=self.entry["id"], name=self.entry["name"], outcome="failed", error=error)
        else:
            row = yield from self.migrate()
        yield from self.notify(row)
        return row.model_dump(mode="json", by_alias=True)

    def migrate(self) -> Steps:
        child = self.ctx.call_sub_orchestrator(CHILD, self.child_input, self.instance_id)
        winner = yield from self.cancel.race(child)
        if winner is self.cancel.task:
            yield from self.forward_cancel(child)
        now = iso(self.ctx.current_utc_datetime)
        try:
            output = yield child
        except Exception as exc:  # could not start (running elsewhere), or failed outside its own error handling
            text = str(exc).strip()
            at = iso(self.ctx.current_utc_datetime)
            return crashed_row(
                self.entry,
                self.instance_id,
                text.splitlines()[0] if text else type(exc).__name__,
                started_at=now,
                at=at,
            )
        return finished_row(
            self.entry, self.instance_id, output, started_at=self.started, at=iso(self.ctx.current_utc_datetime)
        )

    def forward_cancel(self, child: Any) -> Steps:
        payload = {"instanceIds": [self.instance_id], "event": CANCEL_EVENT, "batchId": self.batch_id}
        for _ in range(FORWARD_ATTEMPTS):
            try:
                answer = yield from call(self.ctx, "cancel_migrations", payload, self.settings)
            except MigrationError:
                return  # the migration runs to its own end; its row says how it ended
            if not answer.get("missing") or child.is_completed:
                return
            timer = self.ctx.create_timer(self.ctx.current_utc_datetime + FORWARD_RETRY)
            winner = yield self.ctx.task_any([child, timer])
            if winner is child:
                timer.cancel()
                return

    def notify(self, row: ImageResult) -> Steps:
        payload = {
            "batchId": self.batch_id,
            "event": done_event(self.q),
            "result": {"q": self.q, "outcome": row.outcome, "phase": row.phase},
        }
        with contextlib.suppress(MigrationError):  # the batch also looks at its items; the row here is the record
            yield from call(self.ctx, "notify_batch", payload, self.settings)


@bp.orchestration_trigger(context_name="context")
def migrate_batch_item(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from ItemRun(context, context.get_input()).execute())
