"""Dry-run plans: what a migration of each image of a scope would do, predicted from reads only.

The prediction reuses the migration's own decisions: :func:`migration.plan.build_plan` (checks, definition,
version, regions) and :func:`migration.deletion.deletion_checks` (the guards before deleting the source), fed
with what ARM shows now. Validation is assumed to pass and replication to succeed: a plan cannot foresee them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field

from migration.deletion import deletion_checks, refusal_reason
from migration.fleet import ImageFilters, ImageItem, Scope
from migration.plan import MigrationPlan
from migration.settings import DeletionMode
from migration.source import Check
from migration.status import ErrorInfo
from migration.status import _Camel as CamelModel  # the one camelCase JSON base of the status models

Predicted = Literal["succeeded", "failed", "skipped"]


class DeletionForecast(CamelModel):
    """Would the source be deleted after a successful migration, and which guard would keep it."""

    mode: DeletionMode
    would_delete: bool  # without anyone's further input
    requires_approval: bool
    checks: list[Check]  # the guards as ARM shows them now (validation assumed to pass)
    reason: str = ""  # why the source would be kept


class ImagePlan(CamelModel):
    """One image of a plan: the predicted outcome and every decision behind it."""

    source_image_id: str
    name: str
    outcome: Predicted
    skip_reason: str | None = None
    error: ErrorInfo | None = None
    checks: list[Check] = Field(default_factory=list)
    definition_id: str | None = None
    definition_action: str | None = None
    definition_problems: list[str] = Field(default_factory=list)
    version_id: str | None = None
    version_name: str | None = None
    version_action: str | None = None
    version_problem: str = ""
    target_regions: list[dict[str, Any]] = Field(default_factory=list)
    deletion: DeletionForecast | None = None
    source_deleted: bool = False
    notes: list[str] = Field(default_factory=list)


PLAN_CHUNK = 100  # images planned by one ``plan_chunk`` sub-orchestration (its output holds their rows)
CHUNK_PREFIX = "pchunk-"


def chunk_instance_id(plan_id: str, chunk: int) -> str:
    """``pchunk-<key>-<chunk:04d>``: the instance planning images ``chunk * PLAN_CHUNK`` onwards of plan ``plan_id``."""
    return f"{CHUNK_PREFIX}{plan_id.split('-', 1)[1]}-{chunk:04d}"


class PlanLedger(CamelModel):
    """What one execution of ``plan_migrations`` hands the next (``continue_as_new``): a cursor into the chunks and
    the counts so far, whatever the size of the scope."""

    created_at: str
    classified_at: str
    images: int
    queued: int
    next_chunk: int = 0
    counts: dict[str, int] = Field(default_factory=dict)

    @property
    def chunks(self) -> int:
        return -(-self.queued // PLAN_CHUNK)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            if key != "images":
                self.counts[key] = self.counts.get(key, 0) + int(value)


def left_out_row(entry: dict[str, Any]) -> ImagePlan:
    """The plan row of an image the inventory left out (skipped) or refused (its request is invalid)."""
    item = ImageItem(id=entry["id"], name=entry["name"])
    if "error" in entry:
        return invalid_image(item, ErrorInfo.model_validate(entry["error"]))
    return skipped_image(item, entry["skipReason"])


class FleetPlan(CamelModel):
    """The output of the ``plan_migrations`` orchestration (``GET /api/plans/{id}``)."""

    id: str
    status: Literal["completed", "failed"] = "completed"
    created_at: str
    gallery_id: str | None = None
    source_image_id: str | None = None
    scope: dict[str, Any] | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    images: list[ImagePlan] = Field(default_factory=list)  # a page of rows (the API); the output holds none
    error: ErrorInfo | None = None
    inventory_id: str | None = None
    chunks: int = 0


def forecast_deletion(plan: MigrationPlan, *, scale_sets: list[str]) -> DeletionForecast:
    assert plan.source is not None
    request = plan.request
    checks = deletion_checks(
        mode=request.deletion_mode,
        validation_passed=True,
        preflight_fingerprint=plan.source.fingerprint,
        current=plan.source,
        referencing_scale_sets=scale_sets,
        replication_mode=request.replication_mode.value,
        approved=True,
    )
    unobservable = ("not-canceled", "validation-passed", "approved")  # assumed: a plan cannot see them yet
    checks = [c for c in checks if c.name not in unobservable]
    approval = request.deletion_mode == DeletionMode.AFTER_APPROVAL
    guards_pass = all(c.passed for c in checks)
    reason = refusal_reason(checks)
    if guards_pass and approval:
        reason = "deleted only if someone approves within the approval timeout"
    return DeletionForecast(
        mode=request.deletion_mode,
        would_delete=guards_pass and not approval,
        requires_approval=approval,
        checks=checks,
        reason=reason,
    )


def forecast_image(plan: MigrationPlan, *, scale_sets: list[str]) -> ImagePlan:
    """The plan row of one image from its :class:`MigrationPlan` (what ``run_preflight`` would decide)."""
    failure = plan.failure()
    deletion = forecast_deletion(plan, scale_sets=scale_sets) if plan.source is not None else None
    version_name = plan.version_id.rsplit("/", 1)[-1] if plan.version_id else None
    return ImagePlan(
        source_image_id=plan.request.source_image_id,
        name=plan.request.image.name,
        outcome="failed" if failure else "succeeded",
        error=ErrorInfo(code=failure[0], message=failure[1]) if failure else None,
        checks=plan.checks,
        definition_id=plan.definition_id,
        definition_action=plan.definition_action.value,
        definition_problems=plan.definition_problems,
        version_id=plan.version_id or None,
        version_name=version_name,
        version_action=plan.version_action.value,
        version_problem=plan.version_problem,
        target_regions=[r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in plan.target_regions],
        deletion=deletion,
        source_deleted=failure is None and deletion is not None and deletion.would_delete,
        notes=plan.notes,
    )


def skipped_image(item: ImageItem, reason: str) -> ImagePlan:
    return ImagePlan(source_image_id=item.id, name=item.name, outcome="skipped", skip_reason=reason)


def invalid_image(item: ImageItem, error: ErrorInfo) -> ImagePlan:
    return ImagePlan(source_image_id=item.id, name=item.name, outcome="failed", error=error)


def plan_counts(images: list[ImagePlan]) -> dict[str, int]:
    counted = Counter(i.outcome for i in images)
    return {
        "images": len(images),
        "succeeded": counted["succeeded"],
        "failed": counted["failed"],
        "skipped": counted["skipped"],
        "sourceDeleted": sum(1 for i in images if i.source_deleted),
    }


def describe_selection(scope: Scope | None, filters: ImageFilters) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Scope and filters as the plan document shows them (camelCase, defaults left out)."""
    shown_scope = scope.model_dump(mode="json", by_alias=True) if scope is not None else None
    return shown_scope, filters.model_dump(mode="json", by_alias=True, exclude_defaults=True)
