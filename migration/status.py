"""What a migration tells the world: its custom status while running, its output when done, the summary API.

Custom status is bounded. The Durable host refuses one whose JSON is larger than 16 KB counted in UTF-16, and the
orchestration then fails (Azure/azure-functions-durable-extension ``DurableOrchestrationContext.SetCustomStatus``:
``MessagePayloadDataConverter.Serialize(value, 16)``, "The UTF-16 size of the JSON-serialized payload must not exceed
16 KB"). So every custom status here is clipped field by field (:func:`clip`, :func:`clip_list`, with a visible
marker) and finally checked by :func:`bounded` against a budget well under the limit; the full details live in the
orchestration's output and the summary API.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from migration.source import Check

# Durable runtime statuses of an instance that still owns its ID (the host refuses a second start under it).
ACTIVE_RUNTIME_STATUSES = frozenset({"Running", "Pending", "Suspended", "ContinuedAsNew"})

CUSTOM_STATUS_LIMIT_BYTES = 16 * 1024  # the host's limit, UTF-16 bytes of the compact JSON
CUSTOM_STATUS_BUDGET_BYTES = 12 * 1024  # ours: a margin for what the estimate below cannot see
TRUNCATED = "…[truncated]"
STATUS_MESSAGE_CHARS = 1000
STATUS_ID_CHARS = 512  # ARM IDs of the resources involved are far shorter; the bound is for what is not an ID
STATUS_REGIONS = 64  # more than Azure has public regions
STATUS_LIST_ITEMS = 20


def utf16_size(value: Any) -> int:
    """Bytes of ``value``'s compact JSON in UTF-16, as the host measures it (Newtonsoft leaves non-ASCII as is)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to at most ``limit`` characters, ending with :data:`TRUNCATED` when it was cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATED))] + TRUNCATED


def clip_list(items: list[Any], limit: int = STATUS_LIST_ITEMS) -> tuple[list[Any], int]:
    """The first ``limit`` items and how many were left out."""
    return items[:limit], max(0, len(items) - limit)


def bounded(status: dict[str, Any], *, keep: tuple[str, ...]) -> dict[str, Any]:
    """``status`` if it is within the budget, else only its ``keep`` keys (clipped) and a note saying so.

    A last resort that the field-by-field clipping makes unreachable for any valid input; it exists so that no
    input, however odd, can fail the orchestration on the host."""
    if utf16_size(status) <= CUSTOM_STATUS_BUDGET_BYTES:
        return status
    reduced: dict[str, Any] = {
        key: clip(value, STATUS_ID_CHARS) if isinstance(value, str) else value
        for key, value in status.items()
        if key in keep and (isinstance(value, str) or utf16_size(value) <= 1024)
    }
    reduced["truncated"] = "the status was too large to show; the output and the summary API have the details"
    return reduced


class Phase(StrEnum):
    PREFLIGHT = "preflight"
    DEFINITION = "definition"
    VERSION = "version"
    REPLICATING = "replicating"
    VALIDATING = "validating"
    AWAITING_APPROVAL = "awaiting-approval"
    REPOINTING = "repointing-scale-sets"
    DELETING_SOURCE = "deleting-source"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True)


class Progress(_Camel):
    """The orchestrator's custom status (camelCase JSON), updated at each phase and replication poll."""

    phase: Phase
    source_image_id: str
    run_id: str = ""
    definition_id: str | None = None
    version_id: str | None = None
    regions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    message: str = ""
    polls: int = 0
    next_poll_at: str | None = None
    phase_started_at: str | None = None
    notes: list[str] = Field(default_factory=list)  # preflight's (e.g. the image is near ARM's tag limit)

    def custom_status(self) -> dict[str, Any]:
        """This progress as custom status: every field clipped, the whole within the budget."""
        data = self.model_dump(mode="json", by_alias=True)
        for key in ("sourceImageId", "runId", "definitionId", "versionId"):
            data[key] = clip(data[key], STATUS_ID_CHARS)
        data["message"] = clip(data["message"], STATUS_MESSAGE_CHARS)
        regions = sorted(data["regions"].items())
        shown, omitted = clip_list(regions, STATUS_REGIONS)
        data["regions"] = {
            clip(name, 64): {
                "state": clip(str(view.get("state")), 32),
                "progress": view.get("progress"),
                **{key: view[key] for key in ("replicaCount", "repairs") if isinstance(view.get(key), int)},
            }
            for name, view in shown
        }
        if omitted:
            data["regionsOmitted"] = omitted
        return bounded(data, keep=("phase", "sourceImageId", "runId", "versionId", "polls", "phaseStartedAt"))


class ErrorInfo(_Camel):
    code: str
    message: str


class ScaleSetAction(StrEnum):
    REPOINTED = "repointed"
    KEPT = "kept"  # left alone on purpose (its upgrade policy would roll instances)
    FAILED = "failed"  # the write was refused or failed


class ScaleSetReport(_Camel):
    """What the repoint step did to one scale set that referenced the source."""

    id: str
    action: ScaleSetAction
    upgrade_mode: str | None = None
    image_reference: str | None = None  # what its model references now
    reason: str = ""


class MigrationOutcome(_Camel):
    """The orchestrator's output."""

    outcome: Outcome
    phase: Phase  # the phase reached (done, or where it failed/was canceled)
    source_image_id: str
    definition_id: str | None = None
    version_id: str | None = None
    regions: dict[str, str] = Field(default_factory=dict)
    validation: list[Check] = Field(default_factory=list)
    source_deleted: bool = False
    source_kept_reason: str | None = None
    version_removed: bool = False
    version_kept_reason: str | None = None  # why a failed version could not be removed
    repairs: dict[str, int] = Field(default_factory=dict)  # region -> replication retries it took
    scale_sets: list[ScaleSetReport] = Field(default_factory=list)  # the repoint step's report
    error: ErrorInfo | None = None
    phase_seconds: dict[str, float] = Field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    notes: list[str] = Field(default_factory=list)


def summarize(status: dict[str, Any]) -> dict[str, Any]:
    """Our summary of one instance from its Durable status JSON (``GET /api/migrations/{id}``)."""
    raw_custom, raw_output = status.get("customStatus"), status.get("output")
    custom: dict[str, Any] = raw_custom if isinstance(raw_custom, dict) else {}
    output: dict[str, Any] | None = raw_output if isinstance(raw_output, dict) else None
    current: dict[str, Any] = output if output is not None else custom
    runtime = status.get("runtimeStatus")
    live_regions: dict[str, Any] = custom.get("regions") or {}
    summary: dict[str, Any] = {
        "id": status.get("instanceId"),
        "runtimeStatus": runtime,
        "phase": current.get("phase"),
        "sourceImageId": current.get("sourceImageId"),
        "definitionId": current.get("definitionId"),
        "versionId": current.get("versionId"),
        "regions": live_regions
        if output is None
        else {  # the final states, with the replica counts and progress the last custom status showed
            name: {**(live_regions.get(name) or {}), "state": state}
            for name, state in output.get("regions", {}).items()
        },
        "message": custom.get("message", ""),
        "phaseStartedAt": custom.get("phaseStartedAt") if output is None else None,
        "notes": current.get("notes") or [],
        "createdTime": status.get("createdTime"),
        "lastUpdatedTime": status.get("lastUpdatedTime"),
    }
    if output is not None:
        summary["result"] = output
        summary["outcome"] = output.get("outcome")
        summary["error"] = output.get("error")
    elif runtime == "Failed":
        summary["outcome"] = "failed"
        summary["error"] = {"code": "OrchestrationFailed", "message": str(status.get("output"))}
    elif runtime == "Terminated":
        summary["outcome"] = "canceled"
        summary["error"] = {"code": "Terminated", "message": str(status.get("output"))}
    return summary
