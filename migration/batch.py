"""A batch of migrations as data: its inventory, the compact ledger its orchestrator carries from one execution to
the next, the per-image report rows and their CSV.

Where things live (the design is explained in ``orchestrators/migrate_batch.py``):

- the **inventory** (``migration.inventory``: every image of the scope, sorted by ID, the ones to migrate numbered
  ``q`` = 0, 1, ... in that order) is the output of the ``fleet_inventory`` sub-orchestration ``binv-<key>``;
- one **item** orchestration ``bitem-<key>-<q:05d>`` per image to migrate runs that image's ``migrate_image`` child
  and ends with the image's report row as its output;
- the **ledger** (:class:`BatchLedger`: counts, the next ``q`` to start, the running items, a short window of the
  queue) is the input of each execution of ``migrate_batch``, so its size depends on the concurrency cap, never
  on the size of the batch.

A report page is a slice of the inventory with the item outputs of that slice (:func:`report_rows`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import Field

from migration.errors import InvalidRequest
from migration.fleet import BATCH_PREFIX, FleetBody, gallery_for, request_for
from migration.forecast import describe_selection
from migration.inventory import inventory_instance_id
from migration.settings import Settings
from migration.status import ErrorInfo, bounded, clip_list
from migration.status import _Camel as CamelModel  # the one camelCase JSON base of the status models

OUTCOMES = ("succeeded", "failed", "canceled", "skipped", "not-started")
CSV_COLUMNS = (
    "sourceImageId",
    "name",
    "instanceId",
    "outcome",
    "phase",
    "errorCode",
    "errorMessage",
    "skipReason",
    "definitionId",
    "versionId",
    "sourceDeleted",
    "sourceKeptReason",
    "startedAt",
    "finishedAt",
)
ITEM_PREFIX = "bitem-"
ITEM_BLOCK = 1000  # items per instance-ID block: ``bitem-<key>-<q:05d>`` shares ``bitem-<key>-<q // 1000:02d>``
DONE_EVENT_PREFIX = "image-"
NOT_STARTED = "the batch was canceled before it started"
NOT_STARTED_FAILED = "the batch failed before it started"


# --- identities -------------------------------------------------------------------------------------------------
def batch_key(batch_id: str) -> str:
    return batch_id.removeprefix(BATCH_PREFIX)


def item_instance_id(batch_id: str, q: int) -> str:
    return f"{ITEM_PREFIX}{batch_key(batch_id)}-{q:05d}"


def item_block_prefix(batch_id: str, block: int) -> str:
    """The instance-ID prefix shared by items ``block * 1000`` to ``block * 1000 + 999``."""
    return f"{ITEM_PREFIX}{batch_key(batch_id)}-{block:02d}"


def done_event(q: int) -> str:
    """The event an item raises on its batch when it ends (one name per item: the SDK keeps one early event per
    name, so a shared name could lose one)."""
    return f"{DONE_EVENT_PREFIX}{q}"


def done_event_q(name: str) -> int | None:
    head, _, tail = name.partition(DONE_EVENT_PREFIX)
    return int(tail) if not head and tail.isdigit() else None


# --- rows -------------------------------------------------------------------------------------------------------
class ImageResult(CamelModel):
    """One report row."""

    source_image_id: str
    name: str
    instance_id: str | None = None
    outcome: str
    phase: str | None = None  # the migration's last phase (done, or where it failed or was canceled)
    skip_reason: str | None = None
    error: ErrorInfo | None = None
    definition_id: str | None = None
    version_id: str | None = None
    source_deleted: bool = False
    source_kept_reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


def finished_row(entry: dict[str, Any], instance_id: str, output: Any, *, started_at: str, at: str) -> ImageResult:
    """The row of an image whose migration ended; ``output`` is its ``MigrationOutcome`` JSON."""
    out: dict[str, Any] = output if isinstance(output, dict) else {}
    error = out.get("error")
    return ImageResult(
        source_image_id=entry["id"],
        name=entry["name"],
        instance_id=instance_id,
        outcome=str(out.get("outcome") or "failed"),
        phase=out.get("phase"),
        error=ErrorInfo.model_validate(error) if isinstance(error, dict) else None,
        definition_id=out.get("definitionId"),
        version_id=out.get("versionId"),
        source_deleted=bool(out.get("sourceDeleted")),
        source_kept_reason=out.get("sourceKeptReason"),
        started_at=out.get("startedAt") or started_at,
        finished_at=out.get("finishedAt") or at,
    )


def crashed_row(entry: dict[str, Any], instance_id: str, message: str, *, started_at: str, at: str) -> ImageResult:
    """The row of an image whose migration could not start or failed outside its own error handling."""
    if "already exists" in message.lower():  # a tag trigger or another batch started it meanwhile
        return ImageResult(
            source_image_id=entry["id"],
            name=entry["name"],
            instance_id=instance_id,
            outcome="skipped",
            skip_reason="being migrated: started elsewhere",
            started_at=started_at,
            finished_at=at,
        )
    return ImageResult(
        source_image_id=entry["id"],
        name=entry["name"],
        instance_id=instance_id,
        outcome="failed",
        error=ErrorInfo(code="OrchestrationFailed", message=message[:1000]),
        started_at=started_at,
        finished_at=at,
    )


def not_started_row(entry: dict[str, Any], instance_id: str | None, reason: str = NOT_STARTED) -> ImageResult:
    return ImageResult(
        source_image_id=entry["id"],
        name=entry["name"],
        instance_id=instance_id,
        outcome="not-started",
        skip_reason=reason,
    )


def inventory_row(entry: dict[str, Any]) -> ImageResult:
    """The report row of an image the inventory left out (skipped) or refused (its request is invalid)."""
    if "error" in entry:
        error = ErrorInfo.model_validate(entry["error"])
        return ImageResult(source_image_id=entry["id"], name=entry["name"], outcome="failed", error=error)
    reason = entry["skipReason"]
    return ImageResult(source_image_id=entry["id"], name=entry["name"], outcome="skipped", skip_reason=reason)


# --- what an item runs (its migration asks the app-wide ARM budget for its requests itself) ----------------------
def item_input(
    batch_id: str,
    entry: dict[str, Any],
    *,
    run_id: str,
    options: dict[str, Any],
    settings: Settings,
    classified_at: datetime,
) -> dict[str, Any]:
    """The input of item ``entry["q"]``: the image's migration request (as the inventory resolved it, at the same
    moment) and the settings snapshot."""
    data: dict[str, Any] = {
        "batchId": batch_id,
        "q": entry["q"],
        "entry": {"id": entry["id"], "name": entry["name"], "instanceId": entry["instanceId"]},
        "settings": settings.model_dump(mode="json"),
    }
    try:
        request = request_for(entry["id"], options, settings, now=classified_at, origin="batch")
    except InvalidRequest as exc:  # the inventory accepted it at the same moment: only a bug gets here
        data["error"] = {"code": exc.code, "message": exc.message}
        return data
    data["child"] = {
        "request": request.model_dump(mode="json"),
        "settings": data["settings"],
        "runId": run_id,
    }
    return data


# --- the ledger -------------------------------------------------------------------------------------------------
class RunningItem(CamelModel):
    q: int
    instance_id: str  # the image's migration instance
    started_at: str


class BatchLedger(CamelModel):
    """What one execution of ``migrate_batch`` hands the next (``continue_as_new``): bounded by the concurrency cap
    (``running``) and the queue window, whatever the size of the batch."""

    batch_id: str
    state: str = "running"  # running | canceling | completed | canceled | failed
    max_concurrency: int
    created_at: str
    images: int = 0  # every image of the scope (the inventory's entries)
    queued: int = 0  # images to migrate (q = 0 .. queued - 1)
    skipped: int = 0  # known at listing time
    refused: int = 0  # invalid requests, known at listing time
    cursor: int = 0  # the next q to start
    window: list[dict[str, Any]] = Field(default_factory=list)  # the next queued entries, read ahead
    running: list[RunningItem] = Field(default_factory=list)
    finished: dict[str, int] = Field(default_factory=dict)  # outcome -> images whose item ended
    by_phase: dict[str, int] = Field(default_factory=dict)
    canceled: bool = False
    cancel_forwarded: bool = False
    rounds: int = 1  # executions after the listing: continue_as_new starts the next round
    error: ErrorInfo | None = None

    # --- running ---------------------------------------------------------------------------------------------
    @property
    def free(self) -> int:
        return max(0, min(self.max_concurrency - len(self.running), self.queued - self.cursor))

    @property
    def busy(self) -> bool:
        return bool(self.running) or (self.cursor < self.queued and not self.canceled)

    def start(self, entries: list[dict[str, Any]], at: str) -> None:
        for entry in entries:
            assert entry["q"] == self.cursor, (entry["q"], self.cursor)
            self.running.append(RunningItem(q=entry["q"], instance_id=entry["instanceId"], started_at=at))
            self.cursor += 1

    def is_running(self, q: int) -> bool:
        return any(item.q == q for item in self.running)

    def ended(self, q: int, outcome: str, phase: str | None) -> bool:
        """An item reported its end; False when it was not running (a duplicate report)."""
        if not self.is_running(q):
            return False
        self.running = [item for item in self.running if item.q != q]
        outcome = outcome if outcome in OUTCOMES else "failed"
        self.finished[outcome] = self.finished.get(outcome, 0) + 1
        if phase:
            self.by_phase[phase] = self.by_phase.get(phase, 0) + 1
        return True

    # --- views -----------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        finished = Counter(self.finished)
        not_started = self.queued - self.cursor if self.canceled or self.state == "failed" else 0
        counts = {"total": self.images, "queued": self.queued - self.cursor - not_started, "running": len(self.running)}
        counts.update(
            succeeded=finished["succeeded"],
            failed=finished["failed"] + self.refused,
            canceled=finished["canceled"],
            skipped=finished["skipped"] + self.skipped,
            notStarted=finished["not-started"] + not_started,
        )
        return counts

    def finished_by_phase(self) -> dict[str, int]:
        return dict(sorted(self.by_phase.items()))

    def status(self, **extra: Any) -> dict[str, Any]:
        """The batch's custom status: counts, and the first running migrations (``runningOmitted``: the others; the
        cap allows 100 at once, more than the host's 16 KB custom-status limit can list)."""
        running, omitted = clip_list([item.instance_id for item in self.running])
        status = {
            "batchId": self.batch_id,
            "state": self.state,
            "maxConcurrency": self.max_concurrency,
            "counts": self.counts(),
            "finishedByPhase": self.finished_by_phase(),
            "running": running,
            **({"runningOmitted": omitted} if omitted else {}),
            "createdAt": self.created_at,
            "started": self.cursor,
            **extra,
        }
        keep = ("batchId", "state", "maxConcurrency", "counts", "createdAt", "started")
        return bounded(status, keep=keep)


def report_header(
    batch_id: str, data: dict[str, Any], ledger: BatchLedger, *, finished_at: str | None
) -> dict[str, Any]:
    """The report's header (and the batch's output when it ends): what was asked and how far it got; ``data`` is the
    batch's input (``fleet``, ``options``, ``settings``)."""
    body = FleetBody.model_validate(data["fleet"])
    scope, filters = describe_selection(body.scope, body.filters)
    settings = Settings.model_validate(data["settings"])
    return {
        "id": batch_id,
        "status": ledger.state,
        "createdAt": ledger.created_at,
        "finishedAt": finished_at,
        "galleryId": str(gallery_for(data["options"], settings)),
        "scope": scope,
        "filters": filters,
        "options": data["options"],
        "maxConcurrency": ledger.max_concurrency,
        "counts": ledger.counts(),
        "finishedByPhase": ledger.finished_by_phase(),
        "started": ledger.cursor,
        "inventoryId": inventory_instance_id(batch_id),
        "rounds": ledger.rounds,
        "error": ledger.error.model_dump(mode="json", by_alias=True) if ledger.error else None,
    }


# --- the report -------------------------------------------------------------------------------------------------
def report_rows(
    entries: list[dict[str, Any]], items: dict[int, dict[str, Any]], *, started: int, ended: str | None
) -> list[dict[str, Any]]:
    """The report rows of ``entries`` (a slice of the inventory): final rows from the inventory, an item's output
    once it ended, else ``running`` (item started) or ``queued`` / ``not-started`` (``q`` >= ``started``; not-started
    once the batch has ``ended`` as ``canceled`` or ``failed``). ``items``: q -> the item's Durable status JSON."""
    rows = []
    for entry in entries:
        if "q" not in entry:
            rows.append(inventory_row(entry).model_dump(mode="json", by_alias=True))
            continue
        q, instance_id = int(entry["q"]), entry.get("instanceId")
        status = items.get(q)
        runtime = (status or {}).get("runtimeStatus")
        output = (status or {}).get("output")
        if runtime == "Completed" and isinstance(output, dict):
            rows.append(output)
        elif runtime in ("Failed", "Terminated"):  # a bug in the item, or an operator terminated it
            error = ErrorInfo(code=f"Orchestration{runtime}", message=f"the batch item {runtime}: {str(output)[:900]}")
            row = ImageResult(
                source_image_id=entry["id"], name=entry["name"], instance_id=instance_id, outcome="failed", error=error
            )
            rows.append(row.model_dump(mode="json", by_alias=True))
        elif status is not None or q < started:
            custom = (status or {}).get("customStatus")
            since = custom.get("startedAt") if isinstance(custom, dict) else None
            row = ImageResult(
                source_image_id=entry["id"],
                name=entry["name"],
                instance_id=instance_id,
                outcome="running",
                started_at=since,
            )
            rows.append(row.model_dump(mode="json", by_alias=True))
        elif ended in ("canceled", "failed"):
            reason = NOT_STARTED if ended == "canceled" else NOT_STARTED_FAILED
            rows.append(not_started_row(entry, instance_id, reason).model_dump(mode="json", by_alias=True))
        else:
            row = ImageResult(
                source_image_id=entry["id"], name=entry["name"], instance_id=instance_id, outcome="queued"
            )
            rows.append(row.model_dump(mode="json", by_alias=True))
    return rows


def report_csv(rows: list[dict[str, Any]], *, header: bool = True) -> str:
    """Report rows (``ImageResult`` JSON) as CSV, one line per image, columns :data:`CSV_COLUMNS` (the header line
    only with ``header``: pages after the first continue the same table)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        error = row.get("error") or {}
        values = {**row, "errorCode": error.get("code"), "errorMessage": error.get("message")}
        writer.writerow([_cell(values.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


# A spreadsheet runs a cell as a formula when it starts with one of these, also in their full-width forms and
# after leading blanks (OWASP, "CSV Injection": = + - @, tab and carriage return; prefix such cells with ').
_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if text[:1] in ("\t", "\r", "\n") or text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text
