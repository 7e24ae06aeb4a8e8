"""Fleet HTTP API: dry-run plans and batches over a scope (function-level keys; documented in docs/openapi.yaml).

- ``POST /api/plans``: one image (``sourceImageId``) or a scope + filters, plus a migration's options; runs the
  ``plan_migrations`` orchestration (reads only) and answers 200 with the plan when it finishes within
  :data:`PLAN_WAIT_SECONDS`, else 202 + ``Location``. ``GET /api/plans/{id}`` returns it, rows paged.
- ``POST /api/batches`` starts ``migrate_batch`` (202 + ``Location``); ``GET /api/batches[/{id}]`` summarizes;
  ``GET /api/batches/{id}/report[?format=csv]`` is the per-image report, paged, also while the batch runs;
  ``POST /api/batches/{id}/cancel`` stops new starts and cancels the running migrations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from migration.batch import report_csv
from migration.budget import WAITING
from migration.errors import InvalidRequest
from migration.fleet import BATCH_PREFIX, PLAN_PREFIX, check_options, is_fleet_id, new_fleet_id, parse_fleet_body
from migration.forecast import chunk_instance_id
from migration.inventory import inventory_instance_id
from migration.settings import Settings
from orchestrators.migrate_image import CANCEL_EVENT
from triggers.fleet_pages import ReportNotReady, plan_page, report_page
from triggers.http_api import decoded, deliver_event, has_ended, read_json
from triggers.paging import list_document, listed, next_link, page_request
from triggers.problems import json_response, problem
from triggers.starter import ACTIVE

logger = logging.getLogger(__name__)

bp = df.Blueprint()
PLAN_WAIT_SECONDS = 10.0
PLAN_ORCHESTRATOR = "plan_migrations"
BATCH_ORCHESTRATOR = "migrate_batch"
_FINISHED_WITH_OUTPUT = {"Completed"}
PAGE_OFFSET = r"[0-9]{1,6}"  # a report or plan page's continuationToken: the offset of its first row


def _runtime(status: df.DurableOrchestrationStatus) -> str:
    return status.runtime_status.name if status.runtime_status else "Unknown"


def _resource_url(req: func.HttpRequest, collection: str, instance_id: str) -> str:
    """``.../api/<collection>/<id>`` from the request URL, whatever the route prefix (keys never go in links)."""
    path = req.url.split("?", 1)[0]
    return path[: path.lower().rindex("/" + collection) + len(collection) + 1] + "/" + instance_id


async def _instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, *, kind: str
) -> tuple[str, df.DurableOrchestrationStatus] | func.HttpResponse:
    """(ID, status) of the plan or batch named in the route, or a 404 problem."""
    prefix, orchestrator = (PLAN_PREFIX, PLAN_ORCHESTRATOR) if kind == "Plan" else (BATCH_PREFIX, BATCH_ORCHESTRATOR)
    instance_id = req.route_params.get("id", "")
    status = await client.get_status(instance_id) if is_fleet_id(instance_id, prefix) else None
    if not status or not status.runtime_status or (status.name or "").lower() != orchestrator:
        return problem(404, f"{kind} Not Found", f"no {kind.lower()} with id {instance_id[:80]}")
    return instance_id, status


def _snapshot(settings: Settings) -> dict[str, Any]:
    """Settings travel in the input, so a settings change never changes the replay of a running orchestration."""
    return settings.model_dump(mode="json")


def _validated(payload: Any, *, batch: bool) -> tuple[Any, dict[str, Any], Settings]:
    settings = Settings.from_env(os.environ)
    body, options = parse_fleet_body(payload, batch=batch)
    check_options(options, settings, now=datetime.now(UTC))
    return body, options, settings


# --- plans ---------------------------------------------------------------------------------------------------
async def _plan_document(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    instance_id: str,
    status: df.DurableOrchestrationStatus,
) -> tuple[dict[str, Any], int]:
    """The plan with one page of rows (``?top=``, ``?continuationToken=``), 202 with progress while it is made."""
    runtime = _runtime(status)
    if runtime in ACTIVE:
        custom = decoded(status.custom_status)
        progress = dict(custom) if isinstance(custom, dict) else {}
        # what the listing or the chunk being planned waits for (ARM budget, a retry), if anything
        chunk = progress.pop("chunk", None)
        waiting_in = None
        if progress.get("state") == "listing":
            waiting_in = inventory_instance_id(instance_id)
        elif isinstance(chunk, int):
            waiting_in = chunk_instance_id(instance_id, chunk)
        message = await _status_message(client, waiting_in) if waiting_in else ""
        if message:
            progress["message"] = message
        return {"id": instance_id, "status": "running", "progress": progress}, 202
    output = decoded(status.output)
    if runtime not in _FINISHED_WITH_OUTPUT or not isinstance(output, dict):
        error = {"code": f"Orchestration{runtime}", "message": str(output or runtime)[:2000]}
        return {"id": instance_id, "status": "failed", "error": error, "images": [], "count": 0}, 200
    top, token, _ = page_request(req, token_pattern=PAGE_OFFSET)
    rows, following = await plan_page(client, instance_id, offset=int(token or 0), top=top)
    document = {**output, "images": rows, "count": len(rows), "continuationToken": None}
    if following is not None:
        document |= {"continuationToken": str(following), "nextLink": next_link(req, str(following))}
    return document, 200


@bp.route(route="plans", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_plan(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/plans``: 200 + the plan (its first page of rows) if it is ready within the short wait, else 202 +
    ``Location``."""
    payload, error = read_json(req)
    if error is not None:
        return error
    try:
        body, options, settings = _validated(payload, batch=False)
    except InvalidRequest as exc:
        return problem(400, "Invalid Request", exc.message, errors=exc.errors)
    plan_id = new_fleet_id(PLAN_PREFIX)
    data = {"fleet": body.model_dump(mode="json", by_alias=True), "options": options, "settings": _snapshot(settings)}
    await client.start_new(PLAN_ORCHESTRATOR, plan_id, data)
    logger.info("started plan %s", plan_id)
    deadline = time.monotonic() + PLAN_WAIT_SECONDS
    while True:
        status = await client.get_status(plan_id)
        ended = bool(status and status.runtime_status and _runtime(status) not in ACTIVE)
        if ended or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    url = _resource_url(req, "plans", plan_id)
    if not ended:
        progress = decoded(status.custom_status) if status else None
        document = {"id": plan_id, "status": "running", "progress": progress if isinstance(progress, dict) else {}}
        return json_response(document, status=202, headers={"Location": url, "Retry-After": "2"})
    document, code = await _plan_document(req, client, plan_id, status)
    return json_response(document, status=code, headers={"Location": url})


@bp.route(route="plans/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_plan(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/plans/{id}[?top=N][&continuationToken=T]``: 200 + the plan with one page of rows (or its error);
    202 + progress while it runs."""
    _, _, error = page_request(req, token_pattern=PAGE_OFFSET)
    if error is not None:
        return error
    found = await _instance(req, client, kind="Plan")
    if isinstance(found, func.HttpResponse):
        return found
    plan_id, status = found
    try:
        document, code = await _plan_document(req, client, plan_id, status)
    except ValueError:
        return problem(400, "Invalid Continuation Token", "continuationToken is not one this API returned")
    return json_response(document, status=code, headers={"Retry-After": "2"} if code == 202 else None)


# --- batches -------------------------------------------------------------------------------------------------
def _links(req: func.HttpRequest, batch_id: str) -> dict[str, str]:
    own = _resource_url(req, "batches", batch_id)
    return {"self": own, "report": own + "/report", "reportCsv": own + "/report?format=csv", "cancel": own + "/cancel"}


@bp.route(route="batches", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/batches``: 202 + ``Location``; 400 naming each invalid field."""
    payload, error = read_json(req)
    if error is not None:
        return error
    try:
        body, options, settings = _validated(payload, batch=True)
        cap = body.max_concurrency or settings.batch_default_concurrency
    except InvalidRequest as exc:
        errors = exc.errors or [{"field": "maxConcurrency", "message": exc.message}]
        return problem(400, "Invalid Request", exc.message, errors=errors)
    batch_id = new_fleet_id(BATCH_PREFIX)
    data = {
        "fleet": body.model_dump(mode="json", by_alias=True),
        "options": options,
        "settings": _snapshot(settings),
        "maxConcurrency": cap,
    }
    await client.start_new(BATCH_ORCHESTRATOR, batch_id, data)
    logger.info("started batch %s (max %d at once)", batch_id, cap)
    links = _links(req, batch_id)
    document = {"id": batch_id, "status": "listing", "maxConcurrency": cap, "links": links}
    return json_response(document, status=202, headers={"Location": links["self"], "Retry-After": "10"})


async def _summary(
    status: df.DurableOrchestrationStatus, client: df.DurableOrchestrationClient, *, live: bool
) -> dict[str, Any]:
    """A batch's summary: counts per state, outcome and phase (``live``: the running children's phases too)."""
    runtime = _runtime(status)
    output, custom = decoded(status.output), decoded(status.custom_status)
    view: dict[str, Any] = output if runtime == "Completed" and isinstance(output, dict) else custom or {}
    summary: dict[str, Any] = {
        "id": status.instance_id,
        "runtimeStatus": runtime,
        "status": view.get("status") or view.get("state") or ("failed" if runtime not in ACTIVE else "listing"),
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
        "maxConcurrency": view.get("maxConcurrency"),
        "counts": view.get("counts") or {},
        "finishedByPhase": view.get("finishedByPhase") or {},
    }
    if runtime in ACTIVE and live:
        running = [str(i) for i in view.get("running") or []]
        summary["running"] = list(await asyncio.gather(*(_running_view(client, i) for i in running)))
        phases = [str(r["phase"]) for r in summary["running"]]
        summary["runningByPhase"] = {p: phases.count(p) for p in sorted(set(phases))}
        # ARM's budget is shared by every migration: when it is short, say how many of the batch's wait for it
        summary["waitingForArmBudget"] = sum(1 for r in summary["running"] if "waiting" in r)
        if summary["status"] == "listing":
            message = await _status_message(client, inventory_instance_id(status.instance_id))
            if message:
                summary["message"] = message
        if view.get("runningOmitted"):  # the custom status lists the first 20 (the host's 16 KB limit)
            summary["runningOmitted"] = view["runningOmitted"]
    if isinstance(output, dict) and output.get("error"):
        summary["error"] = output["error"]
    elif runtime in ("Failed", "Terminated"):
        summary["error"] = {"code": f"Orchestration{runtime}", "message": str(output or runtime)[:2000]}
    return summary


async def _custom_status(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any]:
    """An instance's custom status as a dict (empty when it has none, or none that is an object)."""
    status = await client.get_status(instance_id)
    custom = decoded(status.custom_status) if status else None
    return custom if isinstance(custom, dict) else {}


async def _running_view(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any]:
    """A running migration's phase, and its wait for ARM budget if it waits for one (``waiting``: the message)."""
    custom = await _custom_status(client, instance_id)
    view: dict[str, Any] = {"id": instance_id, "phase": str(custom.get("phase") or "starting")}
    message = str(custom.get("message") or "")
    if message.startswith(WAITING):
        view["waiting"] = message
    return view


async def _status_message(client: df.DurableOrchestrationClient, instance_id: str) -> str:
    """What a sub-orchestration of a plan or batch (its inventory, a plan's chunk) waits for, if anything; nothing
    when it cannot be read (a chunk whose start is still queued): the message is a courtesy, never a failure."""
    try:
        return str((await _custom_status(client, instance_id)).get("message") or "")
    except Exception:
        logger.debug("no status for %s yet", instance_id, exc_info=True)
        return ""


@bp.route(route="batches", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_batches(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/batches[?top=N][&continuationToken=T]``: one page of batch summaries."""

    def is_batch(status: df.DurableOrchestrationStatus) -> bool:
        return (status.name or "").lower() == BATCH_ORCHESTRATOR and status.runtime_status is not None

    found, token, error = await listed(req, client, prefix=BATCH_PREFIX, runtime_statuses=[], keep=is_batch)
    if error is not None:
        return error
    return list_document(req, [await _summary(s, client, live=False) for s in found], token)


@bp.route(route="batches/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/batches/{id}``: counts per state, outcome and phase; the running migrations and their phase."""
    found = await _instance(req, client, kind="Batch")
    if isinstance(found, func.HttpResponse):
        return found
    batch_id, status = found
    summary = await _summary(status, client, live=True)
    summary["links"] = _links(req, batch_id)
    return json_response(summary)


@bp.route(route="batches/{id}/report", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_batch_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/batches/{id}/report[?format=json|csv][&top=N][&continuationToken=T]``: one page of rows, one per
    image in image-ID order, also while the batch runs; JSON with the header and ``nextLink``, CSV with a ``Link``
    header (the header line only on the first page, so the pages concatenate into one table)."""
    wanted = req.params.get("format", "json").lower()
    if wanted not in ("json", "csv"):
        return problem(400, "Invalid Report Format", f"format must be json or csv, not {wanted[:32]!r}")
    top, token, error = page_request(req, token_pattern=PAGE_OFFSET)
    if error is not None:
        return error
    found = await _instance(req, client, kind="Batch")
    if isinstance(found, func.HttpResponse):
        return found
    batch_id, status = found
    try:
        page = await report_page(client, status, offset=int(token or 0), top=top)
    except ReportNotReady:
        detail = f"batch {batch_id} is still listing its images; see GET /api/batches/{batch_id}"
        return problem(409, "Batch Not Ready", detail, headers={"Retry-After": "10"})
    except ValueError:
        return problem(400, "Invalid Continuation Token", "continuationToken is not one this API returned")
    following = None if page.next_offset is None else str(page.next_offset)
    if wanted == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{batch_id}.csv"'}
        if following is not None:
            headers["Link"] = f'<{next_link(req, following)}>; rel="next"'
        body = report_csv(page.rows, header=page.offset == 0)
        return func.HttpResponse(body, mimetype="text/csv", headers=headers)
    document = {**page.header, "images": page.rows, "count": len(page.rows), "continuationToken": following}
    if following is not None:
        document["nextLink"] = next_link(req, following)
    return json_response(document)


@bp.route(route="batches/{id}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def cancel_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/batches/{id}/cancel``: no new starts; running migrations get ``cancel`` (sources are kept)."""
    found = await _instance(req, client, kind="Batch")
    if isinstance(found, func.HttpResponse):
        return found
    batch_id, status = found
    runtime = _runtime(status)
    if runtime not in ACTIVE:
        return has_ended("Batch", batch_id, status)
    error = await deliver_event(client, batch_id, CANCEL_EVENT, kind="Batch")
    if error is not None:
        return error
    logger.info("cancel requested for batch %s", batch_id)
    return json_response({"id": batch_id, "canceling": True, "links": _links(req, batch_id)}, 202)
