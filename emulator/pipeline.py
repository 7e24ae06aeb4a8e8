"""The ARM request pipeline, in order: route, authentication, throttling, api-version, injected faults, authorization
(RBAC-lite + deny faults), settle time, handler, settle, events, persistence, request log.

The managed-identity endpoint (App Service protocol) lives here too: it is the other authenticated door.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.apiversions import refusal
from emulator.clock import iso
from emulator.core import errors
from emulator.core.ids import parse
from emulator.core.routing import Route
from emulator.eventgrid.events import resource_event
from emulator.identity import Principal, authenticate, issue_token
from emulator.rbac import Grant
from emulator.resources.models import TAGS_SUFFIX
from emulator.responses import Call, Reply
from emulator.routes import POLL_OPERATIONS

if TYPE_CHECKING:
    from emulator.app import Emulator

logger = logging.getLogger(__name__)
_EMPTY_SEGMENTS = re.compile(r"/{2,}")
access_log = logging.getLogger("emulator.access")


def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


async def identity_token(em: Emulator, request: web.Request) -> web.Response:
    """GET /msi/token?api-version=2019-08-01&resource=...[&client_id=...] with X-IDENTITY-HEADER."""
    if request.headers.get("X-IDENTITY-HEADER") != em.store.secrets["identityHeader"]:
        return web.json_response(
            {"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."}, status=401
        )
    if request.query.get("api-version") != "2019-08-01":
        return web.json_response({"statusCode": 400, "message": "api-version must be 2019-08-01."}, status=400)
    resource = request.query.get("resource")
    if not resource:
        return web.json_response({"statusCode": 400, "message": "The 'resource' parameter is required."}, status=400)
    if request.query.get("mi_res_id") or request.query.get("object_id"):
        return web.json_response(
            {"statusCode": 400, "message": "The emulator selects identities by client_id only."}, status=400
        )
    return web.json_response(issue_token(em.store.secrets["tokenKey"], resource, request.query.get("client_id")))


def _check_api_version(em: Emulator, route: Route, query: dict[str, str], path: str, raw: bytes) -> str:
    version = query.get("api-version")
    if not version:
        raise errors.MissingApiVersionParameter()
    if version in route.api_versions:
        return version
    raise refusal(route.provider, route.resource_type, version, route.api_versions, _location(em, path, raw))


def _location(em: Emulator, path: str, raw: bytes) -> str:
    """The location ARM names when it refuses an api-version: the resource's, the request body's, its group's."""
    found = em.store.get(path)
    if found is None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            return str(body["location"])
        try:
            found = em.store.get(parse(path).resource_group_id)
        except errors.ArmError:
            found = None
    return str(found["body"].get("location") or "global") if found else "global"


def _scope(route: Route, params: dict[str, str], path: str) -> str:
    if "scope" in params:
        return "/" + params["scope"].strip("/")
    if route.operation_id.endswith(("_List", "_ListAll", "_ListByResourceGroup")):
        return path.split("/providers/")[0]
    return path.rstrip("/")


def _authorize(em: Emulator, principal: Principal, route: Route, params: dict[str, str], path: str) -> Grant | None:
    """Deny faults and the RBAC-lite roles; returns the role assignment that allowed the request (None when no role
    is loaded). Operation-status URLs are checked too, as ARM does (their action, e.g.
    Microsoft.Compute/locations/operations/read, at the operated resource's group: the documented rule that
    group-level permission is needed to track an operation); only the caller who started one may read it."""
    scope = _scope(route, params, path)
    role_scope = scope
    if route.operation_id in POLL_OPERATIONS:
        op = em.ctx.ops.get(params["operationId"])
        if op is not None and op.get("caller") and op["caller"] != principal.object_id:
            raise errors.AuthorizationFailed.only_caller()
        if not em.ctx.settings.rbac_checks_operation_polls:
            return None
        role_scope = parse(op["resourceId"]).resource_group_id if op else scope
    action = route.action_for(path)
    grant = em.role.grant(action, role_scope, principal.object_id) if em.role is not None else None
    if em.faults.denied(action, scope) or (em.role is not None and grant is None):
        raise errors.AuthorizationFailed(principal.object_id, action, scope)
    return grant


def _event_for(
    em: Emulator, route: Route, call: Call, reply: Reply, principal: Principal, grant: Grant | None, correlation: str
) -> None:
    """The Event Grid event ARM raises for a successful write or delete (none for a DELETE that found nothing)."""
    result = reply.result
    if result is None or reply.status == 204:
        return
    settings = em.ctx.settings.eventgrid
    if route.provider == "Microsoft.Resources" and "scopeId" in result.extra:
        subject = result.extra["scopeId"]
        if settings.tags_event_subject == "tags-resource":
            subject += TAGS_SUFFIX
    elif result.body and "id" in result.body:
        subject = result.body["id"]
    elif result.operation:
        subject = result.operation["resourceId"]
    else:
        subject = str(em.ctx.canonical_id(parse(call.path)))
    is_delete = call.method == "DELETE"
    http_request = None
    if is_delete:
        http_request = {
            "clientRequestId": correlation,
            "clientIpAddress": "127.0.0.1",
            "method": "DELETE",
            "url": f"https://management.azure.com{call.path}?api-version={call.api_version}",
        }
    event = resource_event(
        deleted=is_delete,
        subject=subject,
        resource_uri=subject,
        action=route.action_for(call.path),
        principal=principal,
        correlation_id=correlation,
        now=em.clock.now(),
        topic_scope=settings.topic_scope,
        grant=grant,
        http_request=http_request,
    )
    if result.operation is not None and settings.lro_events == "complete":
        result.operation["event"] = event
    else:
        em.eventgrid.publish(event)


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise errors.RequestEntityTooLarge(
            f"The request content length exceeds the limit of {request.app._client_max_size} bytes."
        ) from None


async def handle_arm(em: Emulator, request: web.Request) -> web.Response:
    started = time.perf_counter()
    # ARM ignores empty path segments: `az resource show --resource-type NS/type` sends `.../providers/NS//type/x`.
    method, path = request.method, _EMPTY_SEGMENTS.sub("/", request.path)
    query = dict(request.query)
    raw = b""
    request_id = str(uuid.uuid4())
    correlation = request.headers.get("x-ms-correlation-request-id") or request_id
    route, params, known = em.router.match(method, path)
    principal: Principal | None = None
    api_version = query.get("api-version", "")
    fault_id = None
    rate_headers: dict[str, str] = {}
    try:
        raw = await _read(request)
        principal = authenticate(
            em.store.secrets["tokenKey"], request.headers.get("Authorization"), em.ctx.settings.arm_audience
        )
        rate_headers = em.throttle.take(method, path, principal.object_id)  # ARM throttles before routing
        if route is None:
            if known:
                raise errors.BadRequest(f"The HTTP method '{method}' is not supported for '{path}' by the emulator.")
            raise errors.InvalidResourceType(
                f"The resource type or operation at '{path}' is not emulated. See emulator/README.md for the "
                "supported operations."
            )
        api_version = _check_api_version(em, route, query, path, raw)
        fault = em.faults.take(method, path, route.operation_id, "before")
        if fault is not None:
            fault_id = fault.id
            if fault.hang_seconds:
                await asyncio.sleep(fault.hang_seconds)
            raise fault.error()
        grant = _authorize(em, principal, route, params, path)
        em.compute.settle()
        call = Call(method, path, params, query, raw, api_version, em.base_url, principal)
        reply = route.handler(em.backends, call)
        if reply.result is not None and reply.result.operation is not None:
            reply.result.operation["caller"] = principal.object_id
        em.compute.settle()
        if route.writes and reply.status < 300:
            _event_for(em, route, call, reply, principal, grant, correlation)
        after = em.faults.take(method, path, route.operation_id, "after")
        if after is not None:
            fault_id = after.id
            raise after.error()
    except errors.ArmError as e:
        reply = Reply(e.status, e.body(), dict(e.headers))
    except (TypeError, AttributeError, KeyError, ValueError) as e:
        # A body of the wrong shape that no explicit check caught: ARM's deserializer would refuse it with a 400.
        logger.warning("unchecked request shape for %s %s: %r", method, path, e)
        err = errors.InvalidRequestContent(f"The request content was invalid and could not be deserialized: {e!r}.")
        reply = Reply(err.status, err.body())
    except Exception:
        logger.exception("unhandled error for %s %s", method, path)
        reply = Reply(500, errors.error_body("InternalServerError", "The emulator hit an internal error; see its log."))
    em.save()
    headers = {
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": correlation,
        **rate_headers,
        **reply.headers,
    }
    if "x-ms-client-request-id" in request.headers:
        headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
    if reply.status >= 400 and reply.body:
        headers["x-ms-error-code"] = reply.body["error"]["code"]
    _log(em, request, route, api_version, reply, headers, principal, raw, started, request_id, correlation, fault_id)
    return _json_response(reply.status, reply.body, headers)


def _log(
    em: Emulator,
    request: web.Request,
    route: Route | None,
    api_version: str,
    reply: Reply,
    headers: dict[str, str],
    principal: Principal | None,
    raw: bytes,
    started: float,
    request_id: str,
    correlation: str,
    fault_id: str | None,
) -> None:
    entry: dict[str, Any] = {
        "time": iso(datetime.now(UTC)),
        "virtualTime": iso(em.clock.now()),
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "apiVersion": api_version or None,
        "operationId": route.operation_id if route else None,
        "action": route.action_for(request.path) if route else None,
        "status": reply.status,
        "errorCode": reply.body["error"]["code"] if reply.status >= 400 and reply.body else None,
        "principal": principal.object_id if principal else None,
        "clientId": principal.client_id if principal else None,
        "requestId": request_id,
        "correlationId": correlation,
        "durationMs": round((time.perf_counter() - started) * 1000, 2),
        "fault": fault_id,
        "throttled": reply.status == 429 and fault_id is None,  # by the token buckets, not an injected fault
    }
    if em.ctx.settings.record_bodies:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry.update(
            url=f"https://management.azure.com{request.path_qs}",
            requestHeaders={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            requestBody=body,
            responseHeaders=headers,
            responseBody=reply.body,
        )
    em.requests.add(entry)
    if em.config.log_requests:
        access_log.info(
            "%s %s %s -> %d (%s)",
            request.method,
            request.path_qs,
            entry["operationId"],
            reply.status,
            entry["durationMs"],
        )
