"""``migrate_batch``: migrate every image of a scope, at most ``maxConcurrency`` at once, and report.

1. list the images (filters applied) and skip those already migrated or being migrated (with the reason);
2. run one ``migrate_image`` sub-orchestration per image under the image's own instance ID
   (``migration_instance_id``), so a batch and a tag trigger never migrate the same image twice; right before
   each wave of starts, the active per-image instances are checked again;
3. never more than the cap at once; children share the app-wide ARM budget with every other migration
   (``entities/arm_budget.py``: each waits for its grants on durable timers);
4. a ``cancel`` event stops new starts and raises ``cancel`` on every running child; the batch then waits for
   them to end;
5. the output is the report: one row per image (``migration.batch.ImageResult``) and the counts.

Custom status: ``{batchId, state, maxConcurrency, counts, finishedByPhase, running, runningOmitted}``, bounded
under the host's 16 KB limit (``running`` lists the first 20 children). Any unexpected exception (a bug) ends the
batch ``failed`` with ``UnexpectedError`` and its report; children already started run to their own end.
"""

from __future__ import annotations

import contextlib
from typing import Any

import azure.durable_functions as df

from migration.batch import BatchLedger, QueuedImage
from migration.errors import MigrationError, UnexpectedError
from migration.fleet import FleetBody, gallery_for
from migration.forecast import describe_selection
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.episodes import accept_event_names_any_case
from orchestrators.fleet_steps import Steps, call, iso, list_images, survey
from orchestrators.steps import CANCEL_EVENT

bp = df.Blueprint()

CHILD = "migrate_image"


class BatchRun:
    """State of one execution of the batch orchestrator (rebuilt identically on every replay)."""

    def __init__(self, context: df.DurableOrchestrationContext, data: dict[str, Any]) -> None:
        self.ctx = context
        self.settings = Settings.model_validate(data["settings"])
        self.body = FleetBody.model_validate(data["fleet"])
        self.options: dict[str, Any] = data["options"]
        self.ledger = BatchLedger(context.instance_id, max_concurrency=int(data["maxConcurrency"]))
        self.created = iso(context.current_utc_datetime)
        accept_event_names_any_case(context, (CANCEL_EVENT,))
        self.cancel = context.wait_for_external_event(CANCEL_EVENT)
        self.canceled = False
        self.children: dict[str, Any] = {}  # instance id -> sub-orchestration task

    def publish(self) -> None:
        self.ctx.set_custom_status(self.ledger.status(createdAt=self.created))

    def fill(self) -> Steps:
        items = yield from list_images(self.ctx, self.body, self.settings)
        candidates = yield from survey(self.ctx, items, self.options, self.settings, origin="batch")
        for candidate in candidates:
            if candidate.skip_reason:
                self.ledger.skip(candidate.item, candidate.skip_reason)
            elif candidate.request is None:
                assert candidate.error is not None
                self.ledger.refuse(candidate.item, candidate.error)
            else:
                queued = QueuedImage(
                    source_image_id=candidate.item.id,
                    name=candidate.item.name,
                    instance_id=candidate.instance_id,
                    request=candidate.request,
                )
                self.ledger.enqueue(queued)

    def start_wave(self) -> Steps:
        """Start as many queued images as free slots allow; images started elsewhere meanwhile are skipped."""
        wave = self.ledger.take()
        if not wave:
            return
        ids = {"instanceIds": [image.instance_id for image in wave]}
        try:
            active = (yield from call(self.ctx, "get_active_migrations", ids, self.settings))["active"]
        except MigrationError:
            active = {}  # the host still refuses a second instance under the same ID
        now = iso(self.ctx.current_utc_datetime)
        for image in wave:
            self.ledger.started(image, now)
            if image.instance_id in active:
                self.ledger.crashed(image.instance_id, f"an instance already exists ({active[image.instance_id]})", now)
                continue
            child_input = {
                "request": image.request,
                "settings": self.settings.model_dump(mode="json"),
                "runId": str(self.ctx.new_uuid()),  # replay-safe
            }
            self.children[image.instance_id] = self.ctx.call_sub_orchestrator(CHILD, child_input, image.instance_id)

    def wait_for_one(self) -> Steps:
        """Wait for a child to end (or for the cancel event) and record it."""
        waiting = list(self.children.values()) + ([] if self.canceled else [self.cancel])
        winner = yield self.ctx.task_any(waiting)
        if winner is self.cancel:
            self.canceled = True
            running = self.ledger.cancel()
            self.publish()
            if running:
                payload = {"instanceIds": running, "event": CANCEL_EVENT, "batchId": self.ctx.instance_id}
                with contextlib.suppress(MigrationError):  # children not reached run to their own end
                    yield from call(self.ctx, "cancel_migrations", payload, self.settings)
            return
        instance_id = next(i for i, task in self.children.items() if task is winner)
        del self.children[instance_id]
        now = iso(self.ctx.current_utc_datetime)
        try:
            output = yield winner
        except Exception as exc:
            text = str(exc).strip()
            self.ledger.crashed(instance_id, text.splitlines()[0] if text else type(exc).__name__, now)
            return
        self.ledger.finished(instance_id, output, now)

    def execute(self) -> Steps:
        self.publish()
        error: ErrorInfo | None = None
        try:
            try:
                yield from self.fill()
            except MigrationError as exc:  # the scope could not be listed: nothing was started
                error = ErrorInfo(code=exc.code, message=exc.message)
            self.ledger.state = "running"
            while self.ledger.busy:
                if not self.canceled:
                    yield from self.start_wave()
                self.publish()
                if self.children:
                    yield from self.wait_for_one()
        except Exception as exc:  # a bug: end failed with a readable reason rather than without a report
            unexpected = UnexpectedError(f"{type(exc).__name__}: {exc}")
            error = ErrorInfo(code=unexpected.code, message=unexpected.message)
        self.ledger.state = "failed" if error else "canceled" if self.canceled else "completed"
        self.publish()
        return self.report(error)

    def report(self, error: ErrorInfo | None) -> dict[str, Any]:
        scope, filters = describe_selection(self.body.scope, self.body.filters)
        return {
            "id": self.ctx.instance_id,
            "status": self.ledger.state,
            "createdAt": self.created,
            "finishedAt": iso(self.ctx.current_utc_datetime),
            "galleryId": str(gallery_for(self.options, self.settings)),
            "scope": scope,
            "filters": filters,
            "options": self.options,
            "maxConcurrency": self.ledger.max_concurrency,
            "counts": self.ledger.counts(),
            "finishedByPhase": self.ledger.finished_by_phase(),
            "images": [row.model_dump(mode="json", by_alias=True) for row in self.ledger.rows()],
            "error": error.model_dump(mode="json", by_alias=True) if error else None,
        }


@bp.orchestration_trigger(context_name="context")
def migrate_batch(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from BatchRun(context, context.get_input()).execute())
