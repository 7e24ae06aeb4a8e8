"""HTTP triggers (``/<routePrefix>/<route>``) and the Event Grid webhook (``/runtime/webhooks/eventgrid``).

Each function gets what the worker would give it (contract §6.2): a ``func.HttpRequest`` with an absolute URL,
route and query parameters; a ``func.EventGridEvent``/``func.CloudEvent`` decoded by the library's own
converter, one invocation per event; durable client bindings as the extension's JSON string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.http import HttpResponseConverter

from devhost.invoke import Invoker, bind
from devhost.keys import HostKeys, presented_key
from devhost.loader import FunctionIndex, FunctionSpec
from devhost.routing import Router

log = logging.getLogger(__name__)


class Triggers:
    def __init__(
        self,
        *,
        index: FunctionIndex,
        invoker: Invoker,
        keys: HostKeys,
        route_prefix: str,
        client_binding: Callable[[], str],
        busy: Callable[[], Any],
    ) -> None:
        self.index, self.invoker, self.keys = index, invoker, keys
        self.route_prefix = route_prefix
        self.client_binding = client_binding
        self.busy = busy
        self.router = Router()
        for spec in index.http:
            route = spec.trigger.get("route") or spec.name
            self.router.add(route, spec, spec.trigger.get("methods"))

    def http_url_path(self, spec: FunctionSpec) -> str:
        route = (spec.trigger.get("route") or spec.name).strip("/")
        return f"/{self.route_prefix}/{route}" if self.route_prefix else f"/{route}"

    # -- HTTP -----------------------------------------------------------------------------------------------
    async def http(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        prefix = f"/{self.route_prefix}" if self.route_prefix else ""
        if prefix and not path.lower().startswith(prefix.lower()):
            raise web.HTTPNotFound()
        found = self.router.find(request.method, path[len(prefix) :] or "/")
        if found is None:
            raise web.HTTPNotFound()
        route, values = found
        spec: FunctionSpec = route.target
        level = str(spec.trigger.get("authLevel") or "FUNCTION")
        if not self.keys.allows(presented_key(dict(request.query), dict(request.headers)), level):
            return web.Response(status=401)
        body = await request.read()
        req = func.HttpRequest(
            request.method,
            str(request.url),
            headers=_headers(request),
            params={k: request.query.get(k, "") for k in request.query},
            route_params=values,
            body=body,
        )
        try:
            with self.busy():
                result = await self.invoker.call(spec, bind(spec, req, self.client_binding()))
            return to_response(result)
        except Exception:
            log.exception("function %s raised", spec.name)
            return web.Response(status=500)

    # -- Event Grid -----------------------------------------------------------------------------------------
    async def event_grid(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("functionName") or ""
        spec = self.index.event_grid.get(name.lower())
        if spec is None:
            return web.Response(status=404, text=f"cannot find function: '{name}'")
        if not self.keys.allows(presented_key(dict(request.query), dict(request.headers)), "eventgrid"):
            return web.Response(status=401)
        if request.method == "OPTIONS":  # CloudEvents abuse-protection handshake
            return web.Response(status=200, headers={"WebHook-Allowed-Origin": "*"})
        kind = request.headers.get("aeg-event-type", "").lower()
        if kind == "unsubscribe":
            return web.Response(status=202)
        if kind not in ("subscriptionvalidation", "notification"):
            return web.Response(status=400)
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Invalid JSON content")
        if kind == "subscriptionvalidation":
            return validation_response(payload)
        events = payload if isinstance(payload, list) else [payload]
        for raw in events:
            event = EventGridEventInConverter.decode(meta.Datum(json.dumps(raw), "json"), trigger_metadata=None)
            try:
                with self.busy():
                    await self.invoker.call(spec, bind(spec, event, self.client_binding()))
            except Exception as exc:
                log.exception("function %s raised for event %s", spec.name, raw.get("id"))
                return web.Response(status=500, text=str(exc))
        return web.Response(status=202)


def validation_response(payload: Any) -> web.Response:
    """``SubscriptionValidation``: echo ``data.validationCode`` (Event Grid schema array, or a CloudEvent)."""
    event = payload[0] if isinstance(payload, list) and payload else payload
    data = event.get("data") if isinstance(event, dict) else None
    if isinstance(data, str):
        data = json.loads(data)
    code = data.get("validationCode") if isinstance(data, dict) else None
    if code is None:
        return web.Response(status=400, text="no validationCode in the validation event")
    log.info("perform handshake with eventGrid")
    return web.json_response({"validationResponse": code})


def to_response(result: Any) -> web.Response:
    """Encode the ``$return`` value as the worker does (HttpResponseConverter), then answer like the host."""
    if result is None:
        return web.Response(status=204)
    datum = HttpResponseConverter.encode(result, expected_type=None)
    if datum.type == "string":
        return web.Response(status=200, text=str(datum.value), content_type="text/plain", charset="utf-8")
    value = datum.value
    headers = {name: str(h.value) for name, h in value["headers"].items()}
    response = web.Response(status=int(value["status_code"].value), body=value["body"].value or b"")
    for name, header in headers.items():
        response.headers[name] = header
    return response


def _headers(request: web.Request) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged
