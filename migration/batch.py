"""A batch of migrations: the ledger the ``migrate_batch`` orchestrator keeps, its custom status and its report.

The ledger is plain data rebuilt identically on every replay: images wait in a queue, at most
``max_concurrency`` run at once (one ``migrate_image`` child each), and every image ends as one report row:
succeeded, failed or canceled (the child's outcome), skipped (already migrated or being migrated, with the
reason) or not-started (the batch was canceled first).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict

from migration.fleet import ImageItem
from migration.resource_ids import id_key
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


class QueuedImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_image_id: str
    name: str
    instance_id: str
    request: dict[str, Any]


def _key(image_id: str) -> str:
    return id_key(image_id)


class BatchLedger:
    def __init__(self, batch_id: str, *, max_concurrency: int) -> None:
        self.batch_id = batch_id
        self.max_concurrency = max_concurrency
        self.state = "listing"
        self.queue: list[QueuedImage] = []
        self.running: dict[str, QueuedImage] = {}  # instance id -> image, in start order
        self.started_at: dict[str, str] = {}
        self.results: dict[str, ImageResult] = {}  # by lower-cased image ID

    # --- filling -------------------------------------------------------------------------------------------
    def skip(self, item: ImageItem, reason: str) -> None:
        self.results[_key(item.id)] = ImageResult(
            source_image_id=item.id, name=item.name, outcome="skipped", skip_reason=reason
        )

    def refuse(self, item: ImageItem, error: ErrorInfo) -> None:
        """The image's migration request is invalid (e.g. a region not allowed): failed without starting."""
        self.results[_key(item.id)] = ImageResult(
            source_image_id=item.id, name=item.name, outcome="failed", error=error
        )

    def enqueue(self, image: QueuedImage) -> None:
        self.queue.append(image)

    # --- running -------------------------------------------------------------------------------------------
    def take(self) -> list[QueuedImage]:
        """The images to start now: as many as free slots allow, in queue order."""
        free = max(0, self.max_concurrency - len(self.running))
        taken, self.queue = self.queue[:free], self.queue[free:]
        return taken

    def started(self, image: QueuedImage, at: str) -> None:
        self.running[image.instance_id] = image
        self.started_at[image.instance_id] = at

    def finished(self, instance_id: str, output: Any, at: str) -> None:
        """A child ended; ``output`` is its ``MigrationOutcome`` JSON."""
        image = self.running.pop(instance_id)
        out: dict[str, Any] = output if isinstance(output, dict) else {}
        error = out.get("error")
        self.results[_key(image.source_image_id)] = ImageResult(
            source_image_id=image.source_image_id,
            name=image.name,
            instance_id=instance_id,
            outcome=str(out.get("outcome") or "failed"),
            phase=out.get("phase"),
            error=ErrorInfo.model_validate(error) if isinstance(error, dict) else None,
            definition_id=out.get("definitionId"),
            version_id=out.get("versionId"),
            source_deleted=bool(out.get("sourceDeleted")),
            source_kept_reason=out.get("sourceKeptReason"),
            started_at=out.get("startedAt") or self.started_at.get(instance_id),
            finished_at=out.get("finishedAt") or at,
        )

    def crashed(self, instance_id: str, message: str, at: str) -> None:
        """A child could not start or failed outside its own error handling."""
        image = self.running.pop(instance_id)
        row = ImageResult(
            source_image_id=image.source_image_id,
            name=image.name,
            instance_id=instance_id,
            outcome="failed",
            error=ErrorInfo(code="OrchestrationFailed", message=message[:1000]),
            started_at=self.started_at.get(instance_id),
            finished_at=at,
        )
        if "already exists" in message.lower():  # a tag trigger or another batch started it meanwhile
            row = row.model_copy(
                update={"outcome": "skipped", "error": None, "skip_reason": "being migrated: started elsewhere"}
            )
        self.results[_key(image.source_image_id)] = row

    def cancel(self) -> list[str]:
        """Stop starting; the queued images are not started. Returns the running children to cancel."""
        for image in self.queue:
            self.results[_key(image.source_image_id)] = ImageResult(
                source_image_id=image.source_image_id,
                name=image.name,
                instance_id=image.instance_id,
                outcome="not-started",
                skip_reason="the batch was canceled before it started",
            )
        self.queue = []
        self.state = "canceling"
        return list(self.running)

    @property
    def busy(self) -> bool:
        return bool(self.queue or self.running)

    # --- views ---------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        outcomes = Counter(r.outcome for r in self.results.values())
        counts = {"total": len(self.results) + len(self.queue) + len(self.running)}
        counts.update(queued=len(self.queue), running=len(self.running))
        counts.update({_camel(o): outcomes[o] for o in OUTCOMES})
        return counts

    def finished_by_phase(self) -> dict[str, int]:
        return dict(sorted(Counter(r.phase for r in self.results.values() if r.phase).items()))

    def status(self, **extra: Any) -> dict[str, Any]:
        """The batch's custom status: counts, and the first running children (``runningOmitted``: the others;
        the cap allows 100 at once, more than the host's 16 KB custom-status limit can list)."""
        running, omitted = clip_list(list(self.running))
        status = {
            "batchId": self.batch_id,
            "state": self.state,
            "maxConcurrency": self.max_concurrency,
            "counts": self.counts(),
            "finishedByPhase": self.finished_by_phase(),
            "running": running,
            **({"runningOmitted": omitted} if omitted else {}),
            **extra,
        }
        return bounded(status, keep=("batchId", "state", "maxConcurrency", "counts", "pollFloorSeconds", "createdAt"))

    def rows(self) -> list[ImageResult]:
        return [self.results[k] for k in sorted(self.results)]


def _camel(outcome: str) -> str:
    head, *rest = outcome.split("-")
    return head + "".join(part.title() for part in rest)


def report_csv(rows: list[dict[str, Any]]) -> str:
    """Report rows (``ImageResult`` JSON) as CSV, one line per image, columns :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
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
