"""``plan_migrations``: a dry run over one image or a scope (up to 10,000 images). Reads only.

Built like a batch, for the same reason (``orchestrators/migrate_batch.py``): a history that grows with the scope
makes replay cost grow with its square. So:

- execution 1 runs ``fleet_inventory`` (``pinv-<key>``): the images of the scope (filters applied), those skipped
  (already migrated or being migrated) and those whose request is invalid, the rest numbered ``q``;
- every later execution plans one chunk of :data:`~migration.forecast.PLAN_CHUNK` images with a ``plan_chunk``
  sub-orchestration (``pchunk-<key>-<k:04d>``), adds its counts and continues as new with the
  :class:`~migration.forecast.PlanLedger` (a cursor and the counts);
- ``plan_chunk`` reads its slice of the inventory, lists the scale sets referencing its images once, and fans out
  the ``plan_migration`` activity (the migration's own preflight reads and decisions) 16 at a time; its output is the
  chunk's rows (``ImagePlan``: outcome, definition and version, regions, every check, whether the source would be
  deleted) and their counts.

The output is the plan's header (``FleetPlan`` without rows); ``GET /api/plans/{id}`` pages the rows from the
inventory and the chunks' outputs. Custom status is a few counters; any unexpected exception (a bug) ends the plan
``failed`` with ``UnexpectedError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from migration.budget import listing_need, merge, step_needs
from migration.errors import InvalidRequest, UnexpectedError
from migration.fleet import FleetBody, gallery_for, request_for
from migration.forecast import (
    PLAN_CHUNK,
    FleetPlan,
    PlanLedger,
    chunk_instance_id,
    describe_selection,
    forecast_image,
    plan_counts,
)
from migration.inventory import inventory_instance_id, left_out
from migration.plan import MigrationPlan
from migration.repoint import ScaleSetFacts
from migration.request import MigrationRequest
from migration.resource_ids import ImageId, id_key
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.fleet_steps import LISTING_READS, Steps, call, failure_info, iso
from orchestrators.steps import acquire

bp = df.Blueprint()

INVENTORY = "fleet_inventory"
CHUNK = "plan_chunk"
PLAN_FANOUT = 16  # plan activities in flight at once: bounds the host's activity queue, not ARM


def _header(context: df.DurableOrchestrationContext, data: dict[str, Any], created_at: str) -> FleetPlan:
    settings = Settings.model_validate(data["settings"])
    body = FleetBody.model_validate(data["fleet"])
    scope, filters = describe_selection(body.scope, body.filters)
    return FleetPlan(
        id=context.instance_id,
        created_at=created_at,
        gallery_id=str(gallery_for(data["options"], settings)),
        source_image_id=body.source_image_id,
        scope=scope,
        filters=filters,
        options=data["options"],
        inventory_id=inventory_instance_id(context.instance_id),
    )


def list_plan(context: df.DurableOrchestrationContext, data: dict[str, Any]) -> Steps:
    """Execution 1: the inventory, then the first chunk (``continue_as_new``)."""
    created = iso(context.current_utc_datetime)
    context.set_custom_status({"state": "listing"})
    body = FleetBody.model_validate(data["fleet"])
    payload = {
        **{key: data[key] for key in ("fleet", "options", "settings")},
        "origin": "plan",
        "skipMigrated": body.source_image_id is None,  # one named image is planned whatever its tags say
    }
    try:
        inventory = yield context.call_sub_orchestrator(INVENTORY, payload, inventory_instance_id(context.instance_id))
    except Exception as exc:  # the inventory failed (a bug)
        inventory = {"error": failure_info(exc).model_dump(mode="json", by_alias=True)}
    if inventory.get("error"):
        document = _header(context, data, created).model_copy(
            update={"status": "failed", "error": ErrorInfo.model_validate(inventory["error"])}
        )
        context.set_custom_status({"state": "failed", "images": 0})
        return document.model_dump(mode="json", by_alias=True)
    skipped, refused = left_out(inventory)
    ledger = PlanLedger(
        created_at=created,
        classified_at=inventory["classifiedAt"],
        images=int(inventory["images"]),
        queued=int(inventory["queued"]),
        counts={"succeeded": 0, "failed": refused, "skipped": skipped, "sourceDeleted": 0},
    )
    context.set_custom_status({"state": "planning", "images": ledger.images, "planned": skipped + refused})
    context.continue_as_new({**data, "ledger": ledger.model_dump(mode="json")})
    return None


def plan_round(context: df.DurableOrchestrationContext, data: dict[str, Any]) -> Steps:
    """One chunk per execution; the last one writes the plan's header."""
    ledger = PlanLedger.model_validate(data["ledger"])
    document = _header(context, data, ledger.created_at)
    try:
        if ledger.next_chunk < ledger.chunks:
            start = ledger.next_chunk * PLAN_CHUNK
            payload = {
                "inventoryId": inventory_instance_id(context.instance_id),
                "start": start,
                "count": PLAN_CHUNK,
                "options": data["options"],
                "settings": data["settings"],
                "classifiedAt": ledger.classified_at,
            }
            child = chunk_instance_id(context.instance_id, ledger.next_chunk)
            planned = ledger.images - ledger.queued + min(ledger.queued, ledger.next_chunk * PLAN_CHUNK)
            context.set_custom_status(
                {"state": "planning", "images": ledger.images, "planned": planned, "chunk": ledger.next_chunk}
            )
            chunk = yield context.call_sub_orchestrator(CHUNK, payload, child)
            ledger.add(chunk["counts"])
            ledger.next_chunk += 1
            planned = ledger.images - ledger.queued + min(ledger.queued, ledger.next_chunk * PLAN_CHUNK)
            context.set_custom_status({"state": "planning", "images": ledger.images, "planned": planned})
            if ledger.next_chunk < ledger.chunks:
                context.continue_as_new({**data, "ledger": ledger.model_dump(mode="json")})
                return None
    except Exception as exc:  # a chunk failed (a bug): the plan says why
        document = document.model_copy(update={"status": "failed", "error": failure_info(exc)})
    counts = {"images": ledger.images, **ledger.counts}
    document = document.model_copy(update={"counts": counts, "chunks": ledger.chunks})
    context.set_custom_status({"state": document.status, "images": ledger.images})
    return document.model_dump(mode="json", by_alias=True)


@bp.orchestration_trigger(context_name="context")
def plan_migrations(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    if "ledger" not in data:
        return (yield from list_plan(context, data))
    return (yield from plan_round(context, data))


# --- one chunk --------------------------------------------------------------------------------------------------
def _plan_need(request_json: dict[str, Any]) -> dict[str, Any]:
    request = MigrationRequest.model_validate(request_json)
    subscriptions = {"image_subscription": request.image.subscription_id}
    return step_needs(["plan_migration"], **subscriptions, gallery_subscription=request.gallery.subscription_id)


def _plan_group(
    context: df.DurableOrchestrationContext,
    requests: list[dict[str, Any]],
    settings: Settings,
    on_wait: Callable[[str], None],
) -> Steps:
    """Plans for a group of images at once (one grant of the ARM budget for them all); if one fails, the group is
    redone one by one with retries (each asking the budget again)."""
    yield from acquire(context, merge(*(_plan_need(r) for r in requests)), on_wait=on_wait)
    try:
        results = yield context.task_all(
            [context.call_activity("plan_migration", {"request": request}) for request in requests]
        )
        return list(results)
    except Exception:
        redone = []
        for request in requests:
            payload = {"request": request}
            planned = yield from call(
                context, "plan_migration", payload, settings, need=_plan_need(request), on_retry=on_wait
            )
            redone.append(planned)
        return redone


@bp.orchestration_trigger(context_name="context")
def plan_chunk(context: df.DurableOrchestrationContext) -> Steps:
    """``{"inventoryId", "start", "count", "options", "settings", "classifiedAt"}`` -> ``{"rows", "counts"}``."""
    data = context.get_input()
    settings = Settings.model_validate(data["settings"])
    slice_ = {key: data[key] for key in ("inventoryId", "start", "count")}

    def waiting(message: str) -> None:  # a wait for ARM budget (or a retry) shows in the plan's progress
        context.set_custom_status({"message": message} if message else {})

    entries = (yield from call(context, "read_inventory", slice_, settings))["entries"]
    classified_at = datetime.fromisoformat(data["classifiedAt"])
    requests = []
    for entry in entries:
        try:  # the inventory resolved the same request at the same moment: only a bug fails here
            request = request_for(entry["id"], data["options"], settings, now=classified_at, origin="plan")
        except InvalidRequest as exc:
            raise UnexpectedError(f"the request of {entry['id']} no longer resolves: {exc.message}") from exc
        requests.append(request.model_dump(mode="json"))
    references: dict[str, list[str]] = {}
    facts: dict[str, ScaleSetFacts] = {}  # upgrade policy and region, to predict a repoint (issue 15, item 2)
    if entries:
        payload = {"imageIds": [entry["id"] for entry in entries]}
        subscriptions = sorted({ImageId.parse(entry["id"]).subscription_id for entry in entries})
        need = listing_need(subscriptions, reads_each=LISTING_READS)
        listing = yield from call(context, "list_scale_set_references", payload, settings, need=need, on_retry=waiting)
        references = listing["references"]
        facts = {key: ScaleSetFacts.model_validate(f) for key, f in (listing.get("scaleSets") or {}).items()}
    rows = []
    for start in range(0, len(requests), PLAN_FANOUT):
        group = requests[start : start + PLAN_FANOUT]
        for result in (yield from _plan_group(context, group, settings, waiting)):
            plan = MigrationPlan.model_validate(result)
            scale_sets = references.get(id_key(plan.request.source_image_id), [])
            rows.append(forecast_image(plan, scale_sets=scale_sets, scale_set_facts=facts))
    counts = plan_counts(rows)
    return {"rows": [row.model_dump(mode="json", by_alias=True) for row in rows], "counts": counts}
