"""The Durable Functions HTTP API (DFX ``HttpApiHandler``): same routes, status codes and bodies (contract §5.3).

Served twice: under ``/runtime/webhooks/durabletask/`` on the public port (needs the durabletask system key or
the master key, like in Azure) and under ``/durabletask/`` on the local RPC listener (the extension's
``LocalHttpListener`` that the Python SDK's client calls: its own port on loopback, no key).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

from aiohttp import web

from devhost import entities
from devhost import history as h
from devhost.bookkeeping import unknown_entity_message, unknown_function_message
from devhost.clock import Clock
from devhost.history import TERMINAL_STATUSES, OrchestrationStatus
from devhost.loader import FunctionIndex
from devhost.query import parse_bool, parse_float, parse_int, parse_statuses, parse_time
from devhost.rewind import rewind
from devhost.status import status_payload
from devhost.store import Instance
from devhost.taskhub import InstanceExistsError, TaskHub
from devhost.urls import DurableUrls, origin_of

MAX_INSTANCE_ID = 256
DEFAULT_PAGE_SIZE = 100
GENERIC_FAILURE = "Something went wrong while processing your request"
BAD_ARGUMENTS = "One or more of the arguments submitted is incorrect"


class ApiError(Exception):
    """An error the extension reports as ``{Message, ExceptionMessage, ExceptionType, StackTrace}``."""

    def __init__(self, status: int, message: str, exception_message: str, exception_type: str) -> None:
        super().__init__(exception_message)
        self.status, self.message, self.exception_type = status, message, exception_type

    def response(self) -> web.Response:
        body = {"Message": self.message, "ExceptionMessage": str(self), "ExceptionType": self.exception_type}
        return web.json_response({**body, "StackTrace": None}, status=self.status)


def argument_error(message: str) -> ApiError:
    return ApiError(400, BAD_ARGUMENTS, message, "System.ArgumentException")


def empty(status: int) -> web.Response:
    return web.Response(status=status)


class ManagementApi:
    def __init__(self, *, hub: TaskHub, index: FunctionIndex, clock: Clock, urls: DurableUrls, notify: Any) -> None:
        self.hub, self.index, self.clock, self.urls, self.notify = hub, index, clock, urls, notify

    async def handle(self, request: web.Request, path: str) -> web.Response:
        """Dispatch ``path`` (relative to the API base) the way HttpApiHandler.HandleRequestAsync does."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        try:
            return await self._route(request, parts)
        except ApiError as error:
            return error.response()
        except InstanceExistsError as exc:
            exc_type = "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"
            return ApiError(500, GENERIC_FAILURE, str(exc), exc_type).response()

    async def _route(self, request: web.Request, parts: list[str]) -> web.Response:
        method = request.method
        head = parts[0].lower() if parts else ""
        if head == "orchestrators" and len(parts) in (2, 3):
            return (
                await self.start(request, parts[1], parts[2] if len(parts) == 3 else None)
                if method == "POST"
                else empty(404)
            )
        if head == "entities" and len(parts) in (2, 3):
            return await self.entity(request, parts[1], parts[2] if len(parts) == 3 else "")
        if head == "instances" and len(parts) == 4 and parts[2].lower() == "raiseevent":
            return await self.raise_event(request, parts[1], parts[3]) if method == "POST" else empty(404)
        if head != "instances" or len(parts) > 3:
            return empty(404)
        if len(parts) == 1:
            if method == "GET":
                return self.list_instances(request)
            return self.purge_where(request) if method == "DELETE" else empty(404)
        instance_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                return self.get_status(request, instance_id)
            return self.purge(instance_id) if method == "DELETE" else empty(404)
        operation = parts[2].lower()
        if method != "POST":
            return empty(404)
        reason = request.query.get("reason")
        if operation in ("terminate", "suspend", "resume"):
            return self.control(instance_id, operation, reason)
        if operation == "rewind":
            return self.rewind(instance_id, reason)
        if operation == "restart":
            return await self.restart(request, instance_id)
        return empty(404)

    # -- operations -----------------------------------------------------------------------------------------
    async def start(self, request: web.Request, function_name: str, instance_id: str | None) -> web.Response:
        if self.index.orchestrator(function_name) is None:
            raise argument_error(
                unknown_function_message(function_name, "orchestrator", self.index.orchestrator_names())
            )
        instance_id = validate_instance_id(instance_id)
        input_json = None
        if request.content_length != 0:
            text = (await request.read()).decode("utf-8", errors="replace")
            if text.strip():
                try:
                    input_json = json.dumps(json.loads(text))
                except ValueError as exc:
                    raise ApiError(
                        400, "Invalid JSON content", str(exc), "Newtonsoft.Json.JsonReaderException"
                    ) from exc
        self.hub.start(function_name, instance_id, input_json, self.clock.now())
        self.notify()
        return await self._check_status_or_wait(request, instance_id)

    def get_status(self, request: web.Request, instance_id: str, *, fail_500: bool | None = None) -> web.Response:
        query = request.query
        instance = self.hub.store.get_instance(instance_id)
        if instance is None:
            return empty(404)
        show_history = parse_bool(query.get("showHistory"), False)
        history = self.hub.store.get_history(instance_id) if show_history else None
        payload = status_payload(
            instance,
            show_input=parse_bool(query.get("showInput"), True),
            history=history,
            show_history_output=parse_bool(query.get("showHistoryOutput"), False),
        )
        if fail_500 is None:
            fail_500 = parse_bool(query.get("returnInternalServerErrorOnFailure"), False)
        status = instance.runtime_status
        if status in TERMINAL_STATUSES:
            code = 500 if status == "Failed" and fail_500 else 200
            return web.json_response(payload, status=code)
        headers = {"Location": str(request.url), "Retry-After": "5"}
        return web.json_response(payload, status=202, headers=headers)

    def list_instances(self, request: web.Request) -> web.Response:
        query = request.query
        sql = "SELECT * FROM instances WHERE 1 = 1"
        params: list[Any] = []
        if "instanceIdPrefix" in query:
            sql += " AND instance_id >= ? AND instance_id < ?"
            params += [query["instanceIdPrefix"], query["instanceIdPrefix"] + "\U0010ffff"]
        for name, op in (("createdTimeFrom", ">="), ("createdTimeTo", "<=")):
            moment = parse_time(query.get(name))
            if moment:
                sql += f" AND created_time {op} ?"
                params.append(moment)
        statuses = parse_statuses(query.getall("runtimeStatus", []))
        if statuses:
            sql += f" AND runtime_status IN ({','.join('?' for _ in statuses)})"
            params += statuses
        token = request.headers.get("x-ms-continuation-token")
        if token:
            sql += " AND instance_id > ?"
            params.append(base64.urlsafe_b64decode(token.encode()).decode())
        top = parse_int(query.get("top")) or DEFAULT_PAGE_SIZE
        rows = self.hub.store.db.execute(sql + " ORDER BY instance_id LIMIT ?", (*params, top + 1)).fetchall()
        instances = [Instance(**dict(row)) for row in rows[:top]]
        show_input = parse_bool(query.get("showInput"), True)
        body = [status_payload(i, show_input=show_input) for i in instances]
        headers = {}
        if len(rows) > top:
            headers["x-ms-continuation-token"] = base64.urlsafe_b64encode(instances[-1].instance_id.encode()).decode()
        return web.json_response(body, headers=headers)

    def purge(self, instance_id: str) -> web.Response:
        deleted = self.hub.purge(instance_id)
        return web.json_response({"instancesDeleted": deleted}) if deleted else empty(404)

    def purge_where(self, request: web.Request) -> web.Response:
        created_from = parse_time(request.query.get("createdTimeFrom"))
        if created_from is None:
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        created_to = parse_time(request.query.get("createdTimeTo")) or h.format_timestamp(self.clock.now())
        statuses = parse_statuses(request.query.getall("runtimeStatus", []))
        deleted = self.hub.purge_where(created_from, created_to, statuses)
        return web.json_response({"instancesDeleted": deleted}) if deleted else empty(404)

    async def raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        instance = self.hub.store.get_instance(instance_id)
        if instance is None:
            return empty(404)
        if instance.runtime_status in TERMINAL_STATUSES:
            return empty(410)
        if request.content_type.lower() != "application/json":
            return web.json_response({"Message": "Only application/json request content is supported"}, status=400)
        text = (await request.read()).decode("utf-8", errors="replace")
        try:
            value = json.loads(text) if text.strip() else None
        except ValueError as exc:
            raise ApiError(400, "Invalid JSON content", str(exc), "Newtonsoft.Json.JsonReaderException") from exc
        self.hub.raise_event(instance_id, event_name, json.dumps(value), self.clock.now())
        self.notify()
        return empty(202)

    async def entity(self, request: web.Request, name: str, key: str) -> web.Response:
        """``entities/{name}/{key}``: GET reads the state (200, or 404 while it does not exist); POST signals the
        operation ``?op=`` and DELETE signals ``delete`` (202). As HttpApiHandler: an ``ArgumentException`` (unknown
        entity, bad key) is a 400 ``{"Message"}``; a JSON body is parsed, any other body is the input as text."""
        if request.method == "GET":
            if not key:
                return empty(404)  # listing entities (``entities/{name}``) is not emulated
            key = "" if key == "$" else key  # HttpApiHandler: "$" stands for the empty key
            found = self.hub.store.get_entity(entities.scheduler_id(name, key))
            if found is None or not found.entity_exists:
                return empty(404)
            return web.Response(status=200, text=found.state or "null", content_type="application/json")
        if request.method not in ("POST", "DELETE"):
            return empty(404)
        if self.index.entity(name) is None:
            message = unknown_entity_message(
                name, self.index.entity_names(), any_orchestrator=bool(self.index.orchestrator_names())
            )
            return web.json_response({"Message": message}, status=400)
        refused = entities.key_error(key)
        if refused is not None:
            return web.json_response({"Message": refused}, status=400)
        operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
        input_text = None
        if request.content_length:
            text = (await request.read()).decode("utf-8", errors="replace")
            if request.content_type.lower() == "application/json":
                try:
                    input_text = json.dumps(
                        json.loads(text), separators=(",", ":"), ensure_ascii=False
                    )  # ToString(None)
                except ValueError as exc:
                    return web.json_response({"Message": f"Could not parse JSON content: {exc}"}, status=400)
            else:
                input_text = json.dumps(text, ensure_ascii=False)  # the text as a string token
        self.hub.signal_entity(entities.scheduler_id(name, key), operation, input_text, self.clock.now())
        self.notify()
        return empty(202)

    def control(self, instance_id: str, operation: str, reason: str | None) -> web.Response:
        instance = self.hub.store.get_instance(instance_id)
        if instance is None:
            return empty(404)
        if instance.runtime_status in TERMINAL_STATUSES:
            return empty(410)
        now = self.clock.now()
        factory = {
            "terminate": h.new_execution_terminated,
            "suspend": h.new_execution_suspended,
            "resume": h.new_execution_resumed,
        }[operation]
        self.hub.send_control(instance_id, factory(now, reason))
        self.notify()
        return empty(202)

    def rewind(self, instance_id: str, reason: str | None) -> web.Response:
        instance = self.hub.store.get_instance(instance_id)
        if instance is None:
            return empty(404)
        if instance.runtime_status in ("Completed", "Terminated", "Canceled"):
            return empty(410)
        if instance.runtime_status != OrchestrationStatus.Failed.name:
            message = "The rewind operation is only supported on failed orchestration instances."
            raise ApiError(500, GENERIC_FAILURE, message, "System.InvalidOperationException")
        rewind(self.hub, instance_id, reason, self.clock.now())
        self.notify()
        return empty(202)

    async def restart(self, request: web.Request, instance_id: str) -> web.Response:
        instance = self.hub.store.get_instance(instance_id)
        if instance is None:
            message = f"An orchestrastion with the instanceId {instance_id} was not found."  # sic, as the extension
            raise ApiError(
                400, "InstanceId does not match a valid orchestration instance.", message, "System.ArgumentException"
            )
        new_id = instance_id
        if parse_bool(request.query.get("restartWithNewInstanceId"), True):
            new_id = new_instance_id()
        self.hub.start(instance.name, new_id, instance.input, self.clock.now())
        self.notify()
        return await self._check_status_or_wait(request, new_id)

    async def _check_status_or_wait(self, request: web.Request, instance_id: str) -> web.Response:
        origin = origin_of(str(request.url))
        timeout = parse_float(request.query.get("timeout"))
        interval = parse_float(request.query.get("pollingInterval"))
        if timeout is not None and interval is not None:
            deadline = time.monotonic() + timeout
            while True:
                instance = self.hub.store.get_instance(instance_id)
                status = instance.runtime_status if instance else None
                if instance is not None and status == "Completed":
                    return web.Response(status=200, text=instance.output or "null", content_type="application/json")
                if instance is not None and status in TERMINAL_STATUSES:
                    return self.get_status(request, instance_id, fail_500=False)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(interval, remaining))
        payload = self.urls.check_status(instance_id, origin=origin)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)


def validate_instance_id(instance_id: str | None) -> str:
    """DurableClient.StartNewAsync's checks (the odd ArgumentException texts are the extension's own)."""
    if not instance_id:
        return new_instance_id()
    if instance_id.startswith("@"):
        raise argument_error("instanceId (Parameter 'Orchestration instance ids must not start with @.')")
    if any(c in "/\\#?" or ord(c) < 32 or 127 <= ord(c) < 160 for c in instance_id):
        raise argument_error(
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.')"
        )
    if len(instance_id) > MAX_INSTANCE_ID:
        raise argument_error(f"Instance ID lengths must not exceed {MAX_INSTANCE_ID} characters.")
    return instance_id


def new_instance_id() -> str:
    return uuid.uuid4().hex  # Guid.ToString("N")
