"""HTTP triggers (``/<routePrefix>/<route>``) and the Event Grid webhook (``/runtime/webhooks/eventgrid``).

Each function gets what the worker would give it (contract §6.2): a ``func.HttpRequest`` with an absolute URL,
route and query parameters; a ``func.EventGridEvent``/``func.CloudEvent`` decoded by the library's own
converter, one invocation per event; durable client bindings as the extension's JSON string.
"""

from __future__ import annotations

import asyncio
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
            return web.Response(status=404)
        found = self.router.find(request.method, path[len(prefix) :] or "/")
        if found is None:
            return web.Response(status=404)
        route, values = found
        spec: FunctionSpec = route.target
        level = str(spec.trigger.get("authLevel") or "FUNCTION")
        if not self.keys.allows(presented_key(request.query, request.headers), level):
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
        """``/runtime/webhooks/eventgrid?functionName=X`` as the host and the Event Grid extension answer it.

        The host authorizes the system key first (HostController.ExtensionWebHookHandler), then the extension
        looks the function up by its exact name (EventGridExtensionConfigProvider: 404 "cannot find function")
        and handles the request (HttpRequestProcessor.ProcessAsync, azure-sdk-for-net
        sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.EventGrid). Where the extension throws on a malformed
        body, the host's ExceptionMiddleware answers a bare 500: no exception text ever reaches the sender."""
        if not self.keys.allows(presented_key(request.query, request.headers), "eventgrid"):
            return web.Response(status=401)
        name = request.query.get("functionName") or ""
        spec = self.index.event_grid.get(name.lower())
        if spec is None or spec.name != name:  # the extension's listener dictionary is case-sensitive
            return web.Response(status=404, text=f"cannot find function: '{name}'")
        if request.method == "OPTIONS":  # CloudEvents abuse-protection handshake
            return web.Response(status=200, headers={"WebHook-Allowed-Origin": allowed_origin(request)})
        kind = _event_type_header(request)
        if kind == "unsubscribe":
            return web.Response(status=202)
        if kind not in ("subscriptionvalidation", "notification"):
            return web.Response(status=400)
        try:
            payload = parse_webhook_json(await request.read())
            if kind == "subscriptionvalidation":
                code = validation_code(payload)
                log.info("perform handshake with eventGrid for function: %s", name)
                return web.Response(status=200, text=json.dumps({"validationResponse": code}))
            events = notification_events(payload)
        except MalformedWebhookBody as exc:
            log.warning("event grid webhook for %s: malformed body (%s)", name, exc)
            return web.Response(status=500)
        results = await asyncio.gather(*(self._dispatch(spec, raw) for raw in events))
        if not all(results):
            # One failed event fails the whole delivery (the extension's ProcessEventsAsync), with the
            # FunctionInvocationException's message (WebJobs FunctionExecutor), not the function's own text.
            return web.Response(status=500, text=f"Exception while executing function: Functions.{spec.name}")
        return web.Response(status=202)

    async def _dispatch(self, spec: FunctionSpec, raw: Any) -> bool:
        """Bind and run one event (single dispatch); False if binding or the function failed."""
        if not isinstance(raw, dict):  # the trigger binding takes a JObject per event, else "Unable to bind"
            log.error("function %s: unable to bind %s to an event", spec.name, type(raw).__name__)
            return False
        try:
            event = EventGridEventInConverter.decode(meta.Datum(json.dumps(raw), "json"), trigger_metadata=None)
            with self.busy():
                await self.invoker.call(spec, bind(spec, event, self.client_binding()))
        except Exception:
            log.exception("function %s raised for event %s", spec.name, str(raw.get("id"))[:64])
            return False
        return True


class MalformedWebhookBody(ValueError):
    """What makes the extension throw before any function runs (the host then answers a bare 500)."""


# Json.NET 13 reads at most 64 levels by default (JsonReader.MaxDepth); deeper bodies make JToken.Parse throw.
WEBHOOK_MAX_DEPTH = 64
# HttpRequestProcessor.GetAllowedOriginResponseHeader: the cloud origins echoed back, anything else -> public.
EVENT_GRID_ORIGINS = (
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.eaglex.ic.gov",
    "eventgrid.azure.microsoft.scloud",
    "eventgrid.azure.cn",
)


def allowed_origin(request: web.Request) -> str:
    origin = request.headers.get("WebHook-Request-Origin")
    return origin if origin in EVENT_GRID_ORIGINS else EVENT_GRID_ORIGINS[0]


def _event_type_header(request: web.Request) -> str:
    """``aeg-event-type`` (first value), compared ordinal-ignore-case like the extension; "" when absent."""
    value = request.headers.get("aeg-event-type", "")
    return value.lower() if value.isascii() else value


def parse_webhook_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedWebhookBody("not UTF-8") from exc
    depth = 0
    for char in text:  # brackets inside strings can only make this stricter than Json.NET, never laxer
        depth += char in "[{"
        depth -= char in "]}"
        if depth > WEBHOOK_MAX_DEPTH:
            raise MalformedWebhookBody(f"nested deeper than {WEBHOOK_MAX_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedWebhookBody(f"not JSON: {str(exc)[:80]}") from exc


def validation_code(payload: Any) -> str:
    """``data.validationCode`` of a SubscriptionValidation body: the first event of an array (Event Grid schema),
    or an object's ``data`` re-parsed from its text (CloudEvents double-encode it); whatever else throws."""
    try:
        if isinstance(payload, list):
            code = payload[0]["data"]["validationCode"]
        elif isinstance(payload, dict):
            data = payload["data"]
            code = (json.loads(data) if isinstance(data, str) else data)["validationCode"]
        else:
            raise MalformedWebhookBody("a validation body is a JSON object or array")
    except (LookupError, TypeError, ValueError) as exc:
        raise MalformedWebhookBody(f"no validationCode: {type(exc).__name__}") from exc
    if code is None or isinstance(code, dict | list):
        raise MalformedWebhookBody("no validationCode")
    return code if isinstance(code, str) else json.dumps(code)


def notification_events(payload: Any) -> list[Any]:
    """A notification body: an array of events, or one event object (ProcessAsync); anything else throws."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    raise MalformedWebhookBody(f"a notification body is a JSON object or array, not {type(payload).__name__}")


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
