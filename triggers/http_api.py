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
from migration.budget import Counts
from migration.errors import InvalidRequest, MigrationError
from migration.instance_ids import PREFIX
from migration.json_input import loads_strict
from migration.request import parse_request_body, resolve_request
from migration.resource_ids import ImageId
from migration.settings import DeletionMode, Settings
from migration.status import Phase, summarize
from migration.tags import TagNames
from orchestrators.migrate_image import APPROVE_EVENT, CANCEL_EVENT
from triggers import budget
from triggers.paging import list_document, listed
from triggers.problems import json_response, problem
from triggers.starter import ACTIVE, start_migration

logger = logging.getLogger(__name__)

bp = df.Blueprint()
MAX_BODY_BYTES = 64 * 1024
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
RUNTIME_STATUSES = {s.name.lower(): s for s in df.OrchestrationRuntimeStatus}


def read_json(req: func.HttpRequest) -> tuple[Any, func.HttpResponse | None]:
    """The body as strict JSON (``migration.json_input``), or the problem: 415 unless it is declared
    ``application/json`` (UTF-8), 413 above 64 KiB, 400 for anything that is not plain JSON."""
    media_type, *parameters = (req.headers.get("content-type") or "").split(";")
    charset = next((p.split("=", 1)[1] for p in parameters if p.strip().lower().startswith("charset=")), "utf-8")
    if media_type.strip().lower() != "application/json" or charset.strip().strip('"').lower() != "utf-8":
        shown = (req.headers.get("content-type") or "none")[:64]
        return None, problem(415, "Unsupported Media Type", f"send the body as application/json (UTF-8), not {shown}")
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        return None, problem(413, "Payload Too Large", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return loads_strict(body), None
    except InvalidRequest as exc:
        return None, problem(400, "Invalid JSON", exc.message)


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
    """``GET /api/migrations[?status=Running,Failed][&top=N][&continuationToken=T]``: one page of summaries."""
    wanted = [s.strip().lower() for s in req.params.get("status", "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in RUNTIME_STATUSES]
    if unknown:
        allowed = ", ".join(s.name for s in df.OrchestrationRuntimeStatus)
        return problem(400, "Invalid Status Filter", f"unknown status {unknown[0]!r}; use {allowed}")
    runtime_statuses = [RUNTIME_STATUSES[s].value for s in wanted]
    statuses, token, error = await listed(req, client, prefix=PREFIX, runtime_statuses=runtime_statuses)
    if error is not None:
        return error
    return list_document(req, [summarize(s.to_json()) for s in statuses], token)


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


def decoded(value: Any) -> Any:
    """A status field as JSON: the client may hand JSON back as text (see the host contract)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def has_ended(kind: str, instance_id: str, status: df.DurableOrchestrationStatus | None) -> func.HttpResponse:
    """409: the instance has ended, with its final status (``runtimeStatus`` and, for a migration, ``outcome``)."""
    runtime = status.runtime_status.name if status and status.runtime_status else "Unknown"
    output = decoded(status.output) if status else None
    outcome = output.get("outcome") if isinstance(output, dict) else None
    detail = f"{kind.lower()} {instance_id} has ended ({runtime}{', ' + str(outcome) if outcome else ''})"
    return problem(409, f"{kind} Not Running", detail, runtimeStatus=runtime, outcome=outcome)


async def deliver_event(
    client: df.DurableOrchestrationClient, instance_id: str, event: str, *, kind: str
) -> func.HttpResponse | None:
    """Raise ``event``; None when delivered. An instance that ended between our status read and the raise (the
    host answers 410 Gone) gets the same 409 as one that had ended before, never a 500."""
    try:
        await client.raise_event(instance_id, event, {"at": datetime.now(UTC).isoformat()})
        return None
    except Exception:  # the SDK raises a plain Exception for every refusal; the status says which one it was
        status = await client.get_status(instance_id)
        if status and status.runtime_status and status.runtime_status.name in ACTIVE:
            raise
        return has_ended(kind, instance_id, status)


async def _active_request(
    client: df.DurableOrchestrationClient, instance_id: str
) -> tuple[dict[str, Any], dict[str, Any], func.HttpResponse | None]:
    """(the migration's request, its custom status) if it is running; else a problem response."""
    status = await client.get_status(instance_id, show_input=True)
    if not status:
        return {}, {}, problem(404, "Migration Not Found", f"no migration with id {instance_id}")
    runtime = status.runtime_status.name if status.runtime_status else "Unknown"
    if runtime not in ACTIVE:
        return {}, {}, has_ended("Migration", instance_id, status)
    data = status.input_
    if isinstance(data, str):  # the client double-encodes inputs (see the host contract)
        data = json.loads(data)
    request = dict(data.get("request") or {}) if isinstance(data, dict) else {}
    custom = decoded(status.custom_status)
    custom = custom if isinstance(custom, dict) else {}
    return request, custom, None


@bp.route(route="migrations/{id}/approve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def approve_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """``POST /api/migrations/{id}/approve``: allow deleting the source of a migration that waits for approval,
    once validation has passed: a human gate approves what was validated, so earlier phases get a 409."""
    instance_id, error = _instance_or_problem(req)
    if error is not None:
        return error
    request, custom, error = await _active_request(client, instance_id)
    if error is not None:
        return error
    # after-approval asked for (or set at start for an untrusted tag), or a tag start put on hold while running
    if request.get("deletion_mode") != DeletionMode.AFTER_APPROVAL.value and custom.get("phase") != "awaiting-approval":
        return problem(409, "Approval Not Expected", f"migration {instance_id} does not wait for an approval")
    phase = str(custom.get("phase") or "starting")
    if phase != Phase.AWAITING_APPROVAL:
        return problem(
            409,
            "Nothing To Approve Yet",
            f"migration {instance_id} is in phase '{phase}'; an approval is accepted once validation has passed "
            f"(phase '{Phase.AWAITING_APPROVAL}')",
            phase=phase,
        )
    error = await deliver_event(client, instance_id, APPROVE_EVENT, kind="Migration")
    if error is not None:
        return error
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
            await budget.spent(client, ImageId.parse(source).subscription_id, Counts(writes=1))
        except MigrationError as exc:
            logger.warning("could not tag %s as canceled: %s", source, exc.message)
    error = await deliver_event(client, instance_id, CANCEL_EVENT, kind="Migration")
    if error is not None:
        return error
    logger.info("cancel requested for %s", instance_id)
    links = client.create_http_management_payload(instance_id)
    return json_response({"id": instance_id, "canceling": True, "statusQueryGetUri": links["statusQueryGetUri"]}, 202)
