"""The composition root: settings -> store -> app index -> clock -> dispatcher -> HTTP server (Azurite's BlobServer).

Order matters the way it does in Functions: app settings become environment variables before the app is
imported; the socket is bound before anything hands out URLs (``--port 0``), so the durable client binding and
the printed function URLs carry the real port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from devhost.clock import Clock, VirtualClock
from devhost.config import Config, HostSettings, apply_settings, read_host_json
from devhost.introspection import Introspection
from devhost.invoke import Invoker
from devhost.keys import HostKeys, load_keys, presented_key
from devhost.loader import FunctionIndex, load_app, load_hook
from devhost.management import ManagementApi
from devhost.stats import Stats
from devhost.store import Store
from devhost.taskhub import TaskHub
from devhost.triggers import Triggers
from devhost.urls import RPC_PATH, WEBHOOK_PATH, DurableUrls
from devhost.worker import Dispatcher

log = logging.getLogger(__name__)
MAX_BODY = 100 * 1024 * 1024  # the Functions host's default request size limit


class Host:
    def __init__(self, config: Config) -> None:
        self.config = config
        apply_settings(config.settings_file)
        os.environ.setdefault("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
        os.environ.setdefault("FUNCTIONS_WORKER_RUNTIME", "python")
        self.settings: HostSettings = read_host_json(config.app_dir)
        self.store = Store(config.state_dir)
        self.keys: HostKeys = load_keys(config.state_dir)
        self.index: FunctionIndex = load_app(config.app_dir)
        self.stats = Stats()
        self.clock: Clock = VirtualClock(self.store, list(config.clock_sync)) if config.clock == "virtual" else Clock()
        if config.hold_clock:
            self.clock.auto_advance = False
        self.hub = TaskHub(self.store, override_any_state=self.settings.override_any_state)
        self.invoker = Invoker(
            app_dir=str(config.app_dir),
            http_threads=32,
            activity_threads=self.settings.max_activities,
            orchestrator_threads=min(self.settings.max_orchestrators, 8),
            stats=self.stats,
        )
        self.sock = _bind(config.host, config.port)
        self.port = self.sock.getsockname()[1]
        self.origin = f"http://{_display_host(config.host)}:{self.port}"
        # The extension's local RPC endpoint (what the Python SDK's client calls, no key) is its own listener on
        # loopback (LocalHttpListener, 127.0.0.1:17071 in Azure), never the public port; here on a free port.
        self.rpc_sock = _bind("127.0.0.1", 0)
        rpc_origin = f"http://127.0.0.1:{self.rpc_sock.getsockname()[1]}"
        self.urls = DurableUrls(
            self.origin, self.settings.hub_name, self.settings.connection_name, self.keys.durabletask, rpc_origin
        )
        self.dispatcher = Dispatcher(
            hub=self.hub,
            index=self.index,
            invoker=self.invoker,
            clock=self.clock,
            settings=self.settings,
            stats=self.stats,
            client_binding=self.urls.binding_json(),
            idle_grace=config.idle_grace_ms / 1000,
        )
        self.management = ManagementApi(
            hub=self.hub, index=self.index, clock=self.clock, urls=self.urls, notify=self.dispatcher.arrived
        )
        self.triggers = Triggers(
            index=self.index,
            invoker=self.invoker,
            keys=self.keys,
            route_prefix=self.settings.route_prefix,
            client_binding=self.urls.binding_json,
            busy=self.dispatcher.busy,
        )
        self.introspection = Introspection(
            store=self.store,
            clock=self.clock,
            stats=self.stats,
            notify=self.dispatcher.arrived,
            held=self.dispatcher.held,
            breakpoints=self.dispatcher.breakpoints,
            reset_hooks=tuple(load_hook(spec) for spec in config.reset_hooks),
            crash_at=self.dispatcher.crash_at_continue,
            idle=lambda: self.dispatcher.idle,
        )

    def build_app(self) -> web.Application:
        """The public port: HTTP triggers and the extension webhooks, each behind its key, like the host."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[loopback_only])
        control = self.introspection.routes() if self.config.control_endpoints else []
        app.add_routes(
            [
                web.get("/", self.home),
                web.get("/admin/host/ping", self.home),
                web.route("*", WEBHOOK_PATH + "/{tail:.*}", self.webhook_api),
                web.route("*", "/runtime/webhooks/eventgrid", self.triggers.event_grid),
                *[web.route(r.method, r.path, self.master_key_only(r.handler)) for r in control],
                web.route("*", "/{tail:.*}", self.triggers.http),
            ]
        )
        return app

    def build_rpc_app(self) -> web.Application:
        """The local RPC listener: the Durable HTTP API without keys, reachable from this machine only."""
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes([web.route("*", RPC_PATH + "{tail:.*}", self.rpc_api)])
        return app

    def master_key_only(self, handler: Any) -> Any:
        """``/_devhost/`` controls the host (clock, reset): the master key, as the host's admin APIs need."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.keys.allows(presented_key(request.query, request.headers), "admin"):
                return web.Response(status=401)
            response: web.StreamResponse = await handler(request)
            return response

        return guarded

    async def home(self, _: web.Request) -> web.Response:
        return web.Response(text="Your Functions 4.0 app is up and running (devhost)")

    async def webhook_api(self, request: web.Request) -> web.Response:
        if not self.keys.allows(presented_key(request.query, request.headers), "durabletask"):
            return web.Response(status=401)
        return await self.management.handle(request, request.match_info["tail"])

    async def rpc_api(self, request: web.Request) -> web.Response:
        return await self.management.handle(request, request.match_info["tail"])

    def describe(self) -> dict[str, Any]:
        functions = []
        for spec in self.index.functions:
            url = None
            if spec.trigger_type == "httpTrigger":
                url = self.origin + self.triggers.http_url_path(spec)
            elif spec.trigger_type == "eventGridTrigger":
                url = self.event_grid_url(spec.name)
            functions.append({"name": spec.name, "trigger": spec.trigger_type, "url": url})
        return {
            "baseUrl": self.origin,
            "functionKey": self.keys.function,
            "masterKey": self.keys.master,
            "eventGridKey": self.keys.eventgrid,
            "durableTaskKey": self.keys.durabletask,
            "rpcBaseUrl": f"{self.urls.rpc_origin}{RPC_PATH}",
            "controlEndpoints": self.config.control_endpoints,
            "taskHub": self.settings.hub_name,
            "functions": functions,
            "clock": self.clock.mode,
            "stateDir": None if self.config.state_dir is None else str(self.config.state_dir.resolve()),
            "pid": os.getpid(),
        }

    def event_grid_url(self, function_name: str) -> str:
        return f"{self.origin}/runtime/webhooks/eventgrid?functionName={function_name}"

    def banner(self) -> str:
        lines = ["", "Functions:", ""]
        for spec in self.index.functions:
            if spec.trigger_type == "httpTrigger":
                methods = ",".join(spec.trigger.get("methods") or ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
                lines.append(f"        {spec.name}: [{methods}] {self.origin}{self.triggers.http_url_path(spec)}")
            elif spec.trigger_type == "eventGridTrigger":
                lines.append(f"        {spec.name}: eventGridTrigger {self.event_grid_url(spec.name)}")
            else:
                lines.append(f"        {spec.name}: {spec.trigger_type}")
            lines.append("")
        lines += [
            f"Durable task hub: {self.settings.hub_name} (clock: {self.clock.mode})",
            f"Function key (default): {self.keys.function}",
            f"Master key: {self.keys.master}",
            f"System keys: eventgrid_extension={self.keys.eventgrid} durabletask_extension={self.keys.durabletask}",
            "",
        ]
        return "\n".join(lines)

    async def run(self) -> None:
        await self.clock.start()
        runner = web.AppRunner(
            self.build_app(),
            access_log=None if self.config.silent else logging.getLogger("devhost.access"),
            access_log_class=AccessLogger,
        )
        await runner.setup()
        await web.SockSite(runner, self.sock).start()
        rpc_runner = web.AppRunner(self.build_rpc_app(), access_log=None)
        await rpc_runner.setup()
        await web.SockSite(rpc_runner, self.rpc_sock).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker = loop.create_task(self.dispatcher.run())
        if not self.config.silent:
            print(self.banner(), flush=True)
        log.info("devhost listening on %s (state: %s)", self.origin, self.config.state_dir or "in memory")
        if self.config.ready_file is not None:
            _write_atomically(self.config.ready_file, json.dumps(self.describe(), indent=2))
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({worker, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if worker.done() and worker.exception():
            log.error("dispatcher stopped", exc_info=worker.exception())
        log.info("devhost stopping")
        await self.dispatcher.stop()
        worker.cancel()
        await rpc_runner.cleanup()
        await runner.cleanup()
        await self.clock.close()
        self.invoker.close()
        self.store.close()


class AccessLogger(AbstractAccessLogger):
    """One line per request without the query string: keys travel as ``?code=`` and must never be logged."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0fms", request.method, request.path, response.status, time * 1000)


@web.middleware
async def loopback_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """``/_devhost/`` answers loopback clients only (the RPC endpoint has its own loopback listener)."""
    if request.path.startswith("/_devhost/") and not _is_loopback(request.remote):
        return web.Response(status=403, text="this endpoint only answers loopback clients")
    response: web.StreamResponse = await handler(request)
    return response


def _is_loopback(remote: str | None) -> bool:
    try:
        return ipaddress.ip_address(remote or "").is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (what we print, not what we bind)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
