"""The control plane under ``/_emulator/`` (no auth, JSON): health, reset, seed, clock, config, faults, RBAC-lite,
Event Grid subscriptions/faults/deliveries, the request log, ARM throttling
(429s sent, buckets), and read-only views of resources and operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from emulator.clock import parse_iso
from emulator.core import errors
from emulator.rbac import parse_role

if TYPE_CHECKING:
    from emulator.app import Emulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": {"code": "BadRequest", "message": message}}, status=status)


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    return await request.json()


def _guard(em: Emulator, fn: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    """JSON in and out; ValueError / ArmError become 400s; state is saved after every control call."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            result = await fn(request)
        except errors.ArmError as e:
            return web.json_response(e.body(), status=e.status)
        except (ValueError, ValidationError, KeyError, TypeError) as e:
            return _bad(f"{type(e).__name__}: {e}")
        em.save()
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result)

    return handler


def add_routes(app: web.Application, em: Emulator) -> None:
    async def health(_: web.Request) -> dict[str, Any]:
        return {
            "status": "ok",
            "clock": em.clock.to_json(),
            "resources": len(em.store.resources),
            "persistence": em.store.stats(),
            "settle": {"evaluations": em.compute.evaluations, "scheduled": em.ctx.ops.scheduled()},
            **em.ready_info(__import__("os").getpid()),
        }

    async def state_check(_: web.Request) -> dict[str, Any]:
        if em.store.state_dir is None:
            raise ValueError("the emulator keeps its state in memory (no --state): there is nothing to check")
        differences = em.store.differences()
        return {"consistent": not differences, "differences": differences[:50]}

    async def reset(request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        em.reset(reseed=bool(body.get("reseed", True)))
        return {"status": "reset", "resources": len(em.store.resources)}

    async def seed(request: web.Request) -> dict[str, Any]:
        from emulator.seed import apply_seed

        return apply_seed(em.backends, await _body(request))

    async def clock_get(_: web.Request) -> dict[str, str]:
        return em.clock.to_json()

    async def clock_post(request: web.Request) -> dict[str, str]:
        body = await _body(request)
        if "advanceTo" in body:
            em.clock.advance_to(parse_iso(body["advanceTo"]))
        elif "advanceBy" in body:
            em.clock.advance_by(float(body["advanceBy"]))
        else:
            raise ValueError("send {'advanceTo': iso} or {'advanceBy': seconds}")
        em.compute.settle()
        return em.clock.to_json()

    async def config_get(_: web.Request) -> dict[str, Any]:
        return em.ctx.settings.model_dump(by_alias=True)

    async def config_put(request: web.Request) -> dict[str, Any]:
        em.ctx.settings = em.ctx.settings.merged(await _body(request))
        return em.ctx.settings.model_dump(by_alias=True)

    def all_faults() -> dict[str, Any]:
        return {
            "value": [f.to_json() for f in em.faults.http]
            + [d.to_json() for d in em.faults.deny]
            + list(em.store.data["replicationFaults"])
        }

    async def faults_post(request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        kind = body.get("kind", "http")
        if kind == "http":
            return em.faults.add_http(body).to_json()
        if kind == "deny":
            return em.faults.add_deny(body).to_json()
        if kind == "replication":
            return em.compute.add_replication_fault(body)
        raise ValueError("fault 'kind' must be http, deny or replication")

    async def faults_get(_: web.Request) -> dict[str, Any]:
        return all_faults()

    async def faults_delete(_: web.Request) -> dict[str, Any]:
        em.faults.clear()
        em.store.data["replicationFaults"] = []
        em.store.mark_section("replicationFaults")
        return all_faults()

    async def fault_delete(request: web.Request) -> dict[str, Any]:
        fault_id = request.match_info["id"]
        before = len(em.store.data["replicationFaults"])
        em.store.data["replicationFaults"] = [f for f in em.store.data["replicationFaults"] if f["id"] != fault_id]
        em.store.mark_section("replicationFaults")
        if not em.faults.remove(fault_id) and before == len(em.store.data["replicationFaults"]):
            raise KeyError(f"no fault {fault_id}")
        return all_faults()

    async def rbac_get(_: web.Request) -> dict[str, Any]:
        return {"role": em.role.to_json() if em.role else None}

    async def rbac_put(request: web.Request) -> dict[str, Any]:
        em.role = parse_role(await _body(request))
        return {"role": em.role.to_json()}

    async def rbac_delete(_: web.Request) -> dict[str, Any]:
        em.role = None
        return {"role": None}

    async def eg_subs_get(_: web.Request) -> dict[str, Any]:
        return {
            "value": [
                {k: v for k, v in s.items() if k != "validationCode"} for s in em.eventgrid.subscriptions.values()
            ]
        }

    async def eg_subs_post(request: web.Request) -> dict[str, Any]:
        body = await _body(request)
        sub = await em.eventgrid.subscribe(body, handshake=body.get("validation", "handshake") == "handshake")
        return {k: v for k, v in sub.items() if k != "validationCode"}

    async def eg_sub_delete(request: web.Request) -> dict[str, Any]:
        if not em.eventgrid.unsubscribe(request.match_info["name"]):
            raise KeyError(f"no subscription {request.match_info['name']}")
        return await eg_subs_get(request)

    async def eg_validate(request: web.Request) -> dict[str, Any]:
        ok = em.eventgrid.validate_by_url(request.query.get("name", ""), request.query.get("code", ""))
        if not ok:
            raise ValueError("unknown subscription or wrong validation code")
        return {"validated": True}

    async def eg_faults_post(request: web.Request) -> dict[str, Any]:
        return em.eventgrid.add_fault(await _body(request))

    async def eg_faults_get(_: web.Request) -> dict[str, Any]:
        return {"value": em.eventgrid.faults}

    async def eg_faults_delete(_: web.Request) -> dict[str, Any]:
        em.eventgrid.faults.clear()
        return {"value": []}

    async def eg_deliveries(request: web.Request) -> dict[str, Any]:
        status = request.query.get("status")
        sub = request.query.get("subscription")
        items = [
            d
            for d in em.eventgrid.deliveries
            if (not status or d["status"] == status) and (not sub or d["subscription"] == sub)
        ]
        counts: dict[str, int] = {}
        for d in em.eventgrid.deliveries:
            counts[d["status"]] = counts.get(d["status"], 0) + 1
        return {"value": items, "counts": counts}

    async def eg_deliveries_delete(_: web.Request) -> dict[str, Any]:
        em.eventgrid.clear_deliveries()
        return {"value": []}

    async def requests_get(request: web.Request) -> dict[str, Any]:
        q = request.query
        limit = int(q["limit"]) if "limit" in q else None
        return {
            "value": em.requests.query(since=int(q.get("since", 0)), operation_id=q.get("operationId"), limit=limit),
            "lastSeq": em.requests.seq,
        }

    async def requests_summary(request: web.Request) -> dict[str, Any]:
        return em.requests.summary(since=int(request.query.get("since", 0)))

    async def requests_delete(_: web.Request) -> dict[str, Any]:
        em.requests.clear()
        return {"value": []}

    async def throttling_get(_: web.Request) -> dict[str, Any]:
        return em.throttle.to_json()

    async def throttling_delete(_: web.Request) -> dict[str, Any]:
        em.throttle.reset()
        return em.throttle.to_json()

    async def resources_get(request: web.Request) -> dict[str, Any]:
        rtype = request.query.get("type", "").lower()
        em.compute.settle()
        return {
            "value": [r for r in em.store.resources.values() if not rtype or r["body"].get("type", "").lower() == rtype]
        }

    async def operations_get(_: web.Request) -> dict[str, Any]:
        return {"value": list(em.store.operations.values())}

    r = app.router
    table: list[tuple[str, str, Callable[[web.Request], Awaitable[Any]]]] = [
        ("GET", "/health", health),
        ("POST", "/state/check", state_check),
        ("POST", "/reset", reset),
        ("POST", "/seed", seed),
        ("GET", "/clock", clock_get),
        ("POST", "/clock", clock_post),
        ("GET", "/config", config_get),
        ("PUT", "/config", config_put),
        ("GET", "/faults", faults_get),
        ("POST", "/faults", faults_post),
        ("DELETE", "/faults", faults_delete),
        ("DELETE", "/faults/{id}", fault_delete),
        ("GET", "/rbac", rbac_get),
        ("PUT", "/rbac", rbac_put),
        ("DELETE", "/rbac", rbac_delete),
        ("GET", "/eventgrid/subscriptions", eg_subs_get),
        ("POST", "/eventgrid/subscriptions", eg_subs_post),
        ("DELETE", "/eventgrid/subscriptions/{name}", eg_sub_delete),
        ("GET", "/eventgrid/validate", eg_validate),
        ("GET", "/eventgrid/faults", eg_faults_get),
        ("POST", "/eventgrid/faults", eg_faults_post),
        ("DELETE", "/eventgrid/faults", eg_faults_delete),
        ("GET", "/eventgrid/deliveries", eg_deliveries),
        ("DELETE", "/eventgrid/deliveries", eg_deliveries_delete),
        ("GET", "/requests", requests_get),
        ("GET", "/requests/summary", requests_summary),
        ("DELETE", "/requests", requests_delete),
        ("GET", "/throttling", throttling_get),
        ("DELETE", "/throttling", throttling_delete),
        ("GET", "/resources", resources_get),
        ("GET", "/operations", operations_get),
    ]
    for method, path, fn in table:
        r.add_route(method, "/_emulator" + path, _guard(em, fn))
