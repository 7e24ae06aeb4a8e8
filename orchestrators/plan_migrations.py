"""``plan_migrations``: a dry run over one image or a scope. Reads only; its output is the plan document.

List the images (filters applied), skip those already migrated or being migrated, then fan out the
``plan_migration`` activity (the migration's own preflight reads and decisions) in chunks, and forecast for
each image the outcome, the definition and version, the regions, every check and whether the source would be
deleted (scale-set references, replication mode, deletion mode). Custom status is a few counters (far under the
host's 16 KB limit whatever the scope); any unexpected exception (a bug) ends the plan ``failed`` with
``UnexpectedError``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from migration.budget import listing_need, merge, step_needs
from migration.errors import MigrationError, UnexpectedError
from migration.fleet import Candidate, FleetBody, gallery_for
from migration.forecast import (
    FleetPlan,
    ImagePlan,
    describe_selection,
    forecast_image,
    invalid_image,
    plan_counts,
    skipped_image,
)
from migration.plan import MigrationPlan
from migration.request import MigrationRequest
from migration.resource_ids import ImageId, id_key
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.fleet_steps import LISTING_READS, Steps, call, iso, list_images, survey
from orchestrators.steps import acquire

bp = df.Blueprint()

PLAN_FANOUT = 16  # plan activities in flight at once: bounds the host's activity queue, not ARM


def _plan_need(candidate: Candidate) -> dict[str, Any]:
    request = MigrationRequest.model_validate(candidate.request)
    subscriptions = {"image_subscription": request.image.subscription_id}
    return step_needs(["plan_migration"], **subscriptions, gallery_subscription=request.gallery.subscription_id)


def _plan_chunk(context: df.DurableOrchestrationContext, chunk: list[Candidate], settings: Settings) -> Steps:
    """Plans for a chunk of images at once (one grant of the ARM budget for them all); if one fails, the chunk is
    redone one by one with retries (each asking the budget again)."""
    yield from acquire(context, merge(*(_plan_need(c) for c in chunk)))
    try:
        results = yield context.task_all(
            [context.call_activity("plan_migration", {"request": c.request}) for c in chunk]
        )
        return list(results)
    except Exception:
        redone = []
        for candidate in chunk:
            payload = {"request": candidate.request}
            redone.append((yield from call(context, "plan_migration", payload, settings, need=_plan_need(candidate))))
        return redone


def plan_all(
    context: df.DurableOrchestrationContext, body: FleetBody, options: dict[str, Any], settings: Settings
) -> Steps:
    """The plan rows, sorted by image ID."""
    context.set_custom_status({"state": "listing"})
    items = yield from list_images(context, body, settings)
    candidates = yield from survey(
        context, items, options, settings, origin="plan", skip_migrated=body.source_image_id is None
    )
    rows: list[ImagePlan] = []
    to_plan: list[Candidate] = []
    for candidate in candidates:
        if candidate.skip_reason:
            rows.append(skipped_image(candidate.item, candidate.skip_reason))
        elif candidate.error is not None:
            rows.append(invalid_image(candidate.item, candidate.error))
        else:
            to_plan.append(candidate)
    references: dict[str, list[str]] = {}
    if to_plan:
        payload = {"imageIds": [c.item.id for c in to_plan]}
        need = listing_need(
            sorted({ImageId.parse(c.item.id).subscription_id for c in to_plan}), reads_each=LISTING_READS
        )
        listing = yield from call(context, "list_scale_set_references", payload, settings, need=need)
        references = listing["references"]
    for start in range(0, len(to_plan), PLAN_FANOUT):
        context.set_custom_status({"state": "planning", "images": len(items), "planned": start})
        chunk = to_plan[start : start + PLAN_FANOUT]
        results = yield from _plan_chunk(context, chunk, settings)
        for candidate, result in zip(chunk, results, strict=True):
            plan = MigrationPlan.model_validate(result)
            scale_sets = references.get(id_key(candidate.item.id), [])
            rows.append(forecast_image(plan, scale_sets=scale_sets))
    return sorted(rows, key=lambda r: r.source_image_id.lower())


@bp.orchestration_trigger(context_name="context")
def plan_migrations(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    settings = Settings.model_validate(data["settings"])
    body = FleetBody.model_validate(data["fleet"])
    options: dict[str, Any] = data["options"]
    scope, filters = describe_selection(body.scope, body.filters)
    document = FleetPlan(
        id=context.instance_id,
        created_at=iso(context.current_utc_datetime),
        gallery_id=str(gallery_for(options, settings)),
        source_image_id=body.source_image_id,
        scope=scope,
        filters=filters,
        options=options,
    )
    try:
        images = yield from plan_all(context, body, options, settings)
        document = document.model_copy(update={"images": images, "counts": plan_counts(images)})
    except Exception as exc:  # a domain error, or a bug: the plan says why it failed
        failure = exc if isinstance(exc, MigrationError) else UnexpectedError(f"{type(exc).__name__}: {exc}")
        error = ErrorInfo(code=failure.code, message=failure.message)
        document = document.model_copy(update={"status": "failed", "error": error})
    context.set_custom_status({"state": document.status, "images": len(document.images)})
    return document.model_dump(mode="json", by_alias=True)
