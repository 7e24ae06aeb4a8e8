"""The composition root: builds state, clock, backends, router, faults, RBAC, Event Grid and the aiohttp app
(one place wires everything, as Azurite's BlobServer does)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator import admin, certs, pipeline
from emulator.clock import Clock
from emulator.compute.models import ComputeBackend
from emulator.config import Config
from emulator.core.backend import Context
from emulator.core.store import Store
from emulator.eventgrid.delivery import EventGrid
from emulator.faults import Faults
from emulator.identity import TENANT_ID
from emulator.rbac import Roles, parse_role
from emulator.requestlog import RequestLog
from emulator.resources.generic import cloud_metadata
from emulator.resources.models import ResourcesBackend
from emulator.responses import Backends
from emulator.routes import build_router
from emulator.seed import apply_seed
from emulator.throttling import Throttle

logger = logging.getLogger(__name__)
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")


class Emulator:
    def __init__(self, config: Config):
        self.config = config
        self.store = Store(config.state_dir)
        self.clock = Clock(config.clock)
        self.clock.restore(self.store.data.get("clock"))
        self.initial_settings = config.settings
        self.ctx = Context(self.store, self.clock, config.settings.model_copy(deep=True))
        self.compute = ComputeBackend(self.ctx)
        self.backends = Backends(self.ctx, self.compute, ResourcesBackend(self.ctx))
        self.router = build_router()
        self.faults = Faults()
        self.role: Roles | None = self._load_roles(config.roles)
        self.requests = RequestLog()
        self._started = (time.monotonic(), self.clock.now())
        self.throttle = Throttle(lambda: self.ctx.settings.throttling, self._throttle_time)
        self.eventgrid = EventGrid(self.store, lambda: self.ctx.settings, lambda: self.control_url)
        self.compute.on_operation_done.append(self._operation_done)
        self.cert_paths = certs.ensure(config.certs_dir)
        self.port = config.port
        if not self.store.resources and not self.store.subscriptions:
            self.reseed()
        self.save()  # a fresh snapshot: folds the journal left by the last run, keeps new secrets

    # --- addresses -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host  # noqa: S104
        return f"https://{host}:{self.port}"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_emulator"

    @property
    def identity_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"

    def ready_info(self, pid: int) -> dict[str, Any]:
        return {
            "armEndpoint": self.base_url,
            "controlUrl": self.control_url,
            "identityEndpoint": self.identity_endpoint,
            "identityHeader": self.store.secrets["identityHeader"],
            "caBundle": str(self.cert_paths.ca),
            "clock": self.clock.mode,
            "pid": pid,
            "host": self.config.host,
            "port": self.port,
            "tenantId": TENANT_ID,
            "stateDir": str(self.config.state_dir) if self.config.state_dir else None,
            "armAudience": self.ctx.settings.arm_audience,
        }

    # --- state -----------------------------------------------------------------------------------------------
    def reseed(self) -> None:
        for path in self.config.seeds:
            apply_seed(self.backends, json.loads(Path(path).read_text()))
        self.save()

    def reset(self, *, reseed: bool = True) -> None:
        """Wipe resources, operations, faults, RBAC, subscriptions added at runtime, deliveries and the request
        log; settings go back to the startup ones; the clock keeps its time (it never goes back)."""
        builtin = self.eventgrid.builtin_subscriptions()
        self.store.reset()
        self.ctx.ops.reschedule_all()
        self.store.data["clock"] = self.clock.to_json()["now"]
        self.faults.clear()
        self.role = self._load_roles(self.config.roles)
        self.requests.clear()
        self.throttle.reset()
        self.eventgrid.reset(keep=builtin)
        self.ctx.settings = self.initial_settings.model_copy(deep=True)
        if reseed:
            self.reseed()

    def save(self, *, flush: bool = False) -> None:
        """Persist what the last request or control call changed (a moved virtual clock included)."""
        now = self.clock.to_json()["now"]
        if self.clock.virtual and self.store.data.get("clock") != now:
            self.store.data["clock"] = now
            self.store.mark_section("clock")
        self.store.save(flush=flush)

    @staticmethod
    def _load_roles(paths: tuple[Path, ...]) -> Roles | None:
        if not paths:
            return None
        return parse_role([json.loads(Path(p).read_text()) for p in paths])

    def _operation_done(self, op: dict[str, Any]) -> None:
        event = op.get("event")
        if event and op["status"] == "Succeeded":
            event["eventTime"] = op["endTime"]
            self.eventgrid.publish(event)

    def _throttle_time(self) -> float:
        """Seconds for the token buckets: real time, plus how far a virtual clock was moved."""
        real, clock = self._started
        moved = (self.clock.now() - clock).total_seconds() if self.clock.virtual else 0.0
        return time.monotonic() - real + moved

    # --- lifecycle -------------------------------------------------------------------------------------------
    async def _background(self, app: web.Application) -> AsyncIterator[None]:
        await self.eventgrid.start()
        for url in self.config.webhooks:
            name = "cli-" + hashlib.sha256(url.encode()).hexdigest()[:8]  # stable across restarts
            if name not in self.eventgrid.subscriptions:
                await self.eventgrid.subscribe({"endpoint": url, "name": name}, handshake=False, builtin=True)
        task = asyncio.create_task(self._tick())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.eventgrid.stop()
        self.save(flush=True)
        self.store.close()

    async def _tick(self) -> None:
        """Real clock: settle operations as time passes. Both clocks: persist delivery progress."""
        while True:
            await asyncio.sleep(0.5)
            try:
                if not self.clock.virtual:
                    self.compute.settle()
                self.save()
            except Exception:
                logger.exception("background tick failed")

    async def _cloud_metadata(self, request: web.Request) -> web.Response:
        """ARM's cloud metadata (no authentication): one cloud from 2022-09-01 on, a list of clouds before."""
        doc = cloud_metadata(self.base_url, self.ctx.settings.arm_audience)
        if request.query.get("api-version", "2022-09-01") < "2022-09-01":
            return web.json_response([doc])
        return web.json_response(doc)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app[EMULATOR] = self
        admin.add_routes(app, self)
        app.router.add_get("/msi/token", lambda r: pipeline.identity_token(self, r))
        app.router.add_get("/metadata/endpoints", self._cloud_metadata)
        app.router.add_route("*", "/{tail:.*}", lambda r: pipeline.handle_arm(self, r))
        app.cleanup_ctx.append(self._background)
        return app
