"""Our HTTP API: start, follow, approve and cancel migrations (function-level keys).

The Durable Functions built-in endpoints (``/runtime/webhooks/durabletask/...``) keep working for every
instance; these add request validation, one-migration-per-image and a readable summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.planning import merge_tags
from migration.errors import InvalidRequest, MigrationError
from migration.instance_ids import PREFIX
from migration.request import parse_request_body, resolve_request
from migration.settings import DeletionMode, Settings
from migration.status import summarize
from migration.tags import TagNames
from orchestrators.migrate_image import APPROVE_EVENT, CANCEL_EVENT
from triggers.instances import all_statuses
from triggers.problems import json_response, problem
from triggers.starter import ACTIVE, start_migration

logger = logging.getLogger(__name__)

bp = df.Blueprint()
MAX_BODY_BYTES = 64 * 1024
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
RUNTIME_STATUSES = {s.name.lower(): s for s in df.OrchestrationRuntimeStatus}


def read_json(req: func.HttpRequest) -> tuple[Any, func.HttpResponse | None]:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        return None, problem(413, "Payload Too Large", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, problem(400, "Invalid JSON", f"the request body is not valid UTF-8 JSON: {exc}")


def _instance_or_problem(req: func.HttpRequest) -> tuple[str, func.HttpResponse | None]:
    instance_id = req.route_params.get("id", "")
    if not _INSTANCE_ID.match(instance_id):
        return instance_id, problem(400, "Invalid Migration Id", "the migration id has invalid characters or length")
    return instance_id, None


@bp.route(route="migrations", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_migration_http(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/migrations``: 202 + check-status payload, 400 naming each bad field, 409 if already running."""
    payload, error = read_json(req)
    if error is not None:
        return error
    try:
        settings = Settings.from_env(os.environ)
        request = resolve_request(parse_request_body(payload), settings, now=datetime.now(UTC), origin="http")
    except InvalidRequest as exc:
        return problem(400, "Invalid Request", exc.message, errors=exc.errors)
    result = await start_migration(client, request)
    if not result.started:
        links = client.create_http_management_payload(result.instance_id)
        return problem(
            409,
            "Migration Already Running",
            f"{request.source_image_id} is already being migrated (status {result.runtime_status})",
            id=result.instance_id,
            statusQueryGetUri=links["statusQueryGetUri"],
        )
    return client.create_check_status_response(req, result.instance_id)


@bp.route(route="migrations", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_migrations(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/migrations[?status=Running,Failed]``: summaries of migrations, newest first."""
    wanted = [s.strip().lower() for s in req.params.get("status", "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in RUNTIME_STATUSES]
    if unknown:
        allowed = ", ".join(s.name for s in df.OrchestrationRuntimeStatus)
        return problem(400, "Invalid Status Filter", f"unknown status {unknown[0]!r}; use {allowed}")
    statuses = await all_statuses(
        client, runtime_status=[RUNTIME_STATUSES[s] for s in wanted] or None, instance_id_prefix=PREFIX
    )
    items = [summarize(s.to_json()) for s in statuses]
    items.sort(key=lambda item: str(item.get("createdTime") or ""), reverse=True)
    return json_response({"value": items, "count": len(items)})


@bp.route(route="migrations/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``GET /api/migrations/{id}``: phase, per-region replication progress, timings, result or error."""
    instance_id, error = _instance_or_problem(req)
    if error is not None:
        return error
    status = await client.get_status(instance_id)
    if not status:
        return problem(404, "Migration Not Found", f"no migration with id {instance_id}")
    summary = summarize(status.to_json())
    summary["links"] = client.create_http_management_payload(instance_id)
    return json_response(summary)


async def _active_request(
    client: df.DurableOrchestrationClient, instance_id: str
) -> tuple[dict[str, Any], dict[str, Any], func.HttpResponse | None]:
    """(the migration's request, its custom status) if it is running; else a problem response."""
    status = await client.get_status(instance_id, show_input=True)
    if not status:
        return {}, {}, problem(404, "Migration Not Found", f"no migration with id {instance_id}")
    runtime = status.runtime_status.name if status.runtime_status else "Unknown"
    if runtime not in ACTIVE:
        return {}, {}, problem(409, "Migration Not Running", f"migration {instance_id} has ended ({runtime})")
    data = status.input_
    if isinstance(data, str):  # the client double-encodes inputs (see the host contract)
        data = json.loads(data)
    request = dict(data.get("request") or {}) if isinstance(data, dict) else {}
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return request, custom, None


@bp.route(route="migrations/{id}/approve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def approve_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/migrations/{id}/approve``: allow deleting the source of a migration that waits for approval."""
    instance_id, error = _instance_or_problem(req)
    if error is not None:
        return error
    request, custom, error = await _active_request(client, instance_id)
    if error is not None:
        return error
    # after-approval asked for (or set at start for an untrusted tag), or a tag start put on hold while running
    if request.get("deletion_mode") != DeletionMode.AFTER_APPROVAL.value and custom.get("phase") != "awaiting-approval":
        return problem(409, "Approval Not Expected", f"migration {instance_id} does not wait for an approval")
    await client.raise_event(instance_id, APPROVE_EVENT, {"at": datetime.now(UTC).isoformat()})
    logger.info("approval recorded for %s", instance_id)
    return json_response({"id": instance_id, "approved": True}, status=202)


@bp.route(route="migrations/{id}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def cancel_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/migrations/{id}/cancel``: stop at the next step; the source image is never deleted."""
    instance_id, error = _instance_or_problem(req)
    if error is not None:
        return error
    request, custom, error = await _active_request(client, instance_id)
    if error is not None:
        return error
    run_id, source = custom.get("runId"), request.get("source_image_id")
    if run_id and source:
        # Also on the image itself: the deletion step re-reads it immediately before deleting, so a cancel that
        # races with that step still keeps the source.
        names = TagNames.from_settings(Settings.from_env(os.environ))
        try:
            await asyncio.to_thread(merge_tags, source, {names.cancel: run_id}, doing="recording the cancel")
        except MigrationError as exc:
            logger.warning("could not tag %s as canceled: %s", source, exc.message)
    await client.raise_event(instance_id, CANCEL_EVENT, {"at": datetime.now(UTC).isoformat()})
    logger.info("cancel requested for %s", instance_id)
    links = client.create_http_management_payload(instance_id)
    return json_response({"id": instance_id, "canceling": True, "statusQueryGetUri": links["statusQueryGetUri"]}, 202)
