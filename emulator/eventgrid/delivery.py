"""At-least-once webhook delivery of Event Grid events, with the validation handshake, retries with backoff,
and injected delivery faults (drop, duplicate, delay, reorder). Subscriptions and pending deliveries live in the
store, so they survive a restart. Delivery timing uses real time (it is real HTTP), not the virtual clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from emulator.core.store import Store
from emulator.eventgrid import filters
from emulator.eventgrid.events import validation_event
from emulator.settings import Settings

logger = logging.getLogger(__name__)
NO_RETRY = (400, 413)  # Event Grid dead-letters these at once
MAX_FINISHED = 5000  # finished delivery records kept (the oldest go first); pending ones are never dropped
OPEN = ("pending", "held")  # not finished: to be attempted (again), or held back by a reorder fault


class EventGrid:
    def __init__(self, store: Store, settings: Callable[[], Settings], control_url: Callable[[], str]):
        self.store = store
        self.settings = settings
        self.control_url = control_url
        self.faults: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        # The deliveries not finished yet, in publish order: what the delivery loop looks at, rather than every
        # record kept (finished ones drop out as the loop passes).
        self._open: list[dict[str, Any]] = [d for d in self.deliveries if d["status"] in OPEN]

    @property
    def subscriptions(self) -> dict[str, dict[str, Any]]:
        return self.store.data["eventgrid"]["subscriptions"]

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return self.store.data["eventgrid"]["deliveries"]

    # --- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """End the loop and the attempts in flight (their deliveries stay pending, to be resumed after a restart).
        The flag, not only the cancellation, ends the loop: Python 3.11's ``wait_for`` can swallow a cancellation
        that arrives as the event it waits for is set."""
        self._closing = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session:
            await self._session.close()

    # --- subscriptions ---------------------------------------------------------------------------------------
    async def subscribe(self, doc: dict[str, Any], *, handshake: bool = True, builtin: bool = False) -> dict[str, Any]:
        endpoint = doc.get("endpoint") or doc.get("endpointUrl")
        if not endpoint or not str(endpoint).startswith(("http://", "https://")):
            raise ValueError("an Event Grid subscription needs an 'endpoint' http(s) URL")
        filt = doc.get("filter") or {}
        filters.validate(filt)
        sub_id = doc.get("name") or f"sub-{uuid.uuid4().hex[:8]}"
        sub = {
            "name": sub_id,
            "endpoint": endpoint,
            "filter": filt,
            "retryPolicy": doc.get("retryPolicy") or {},
            "scope": doc.get("scope"),
            "validated": False,
            "validationCode": secrets.token_hex(16),
            "builtin": builtin,
            "createdAt": time.time(),
        }
        self.subscriptions[sub_id] = sub
        self.store.mark("eventSubscriptions", sub_id, sub)
        if handshake:
            error = await self._handshake(sub)
            if error:
                del self.subscriptions[sub_id]
                self.store.mark_removed("eventSubscriptions", sub_id)
                raise ValueError(f"subscription validation handshake with {endpoint} failed: {error}")
        return sub

    def validate_by_url(self, name: str, code: str) -> bool:
        sub = self.subscriptions.get(name)
        if sub and secrets.compare_digest(sub["validationCode"], code):
            sub["validated"] = True
            self.store.mark("eventSubscriptions", name, sub)
            self._wake.set()
            return True
        return False

    def unsubscribe(self, name: str) -> bool:
        found = self.subscriptions.pop(name, None) is not None
        if found:
            self.store.mark_removed("eventSubscriptions", name)
        return found

    def builtin_subscriptions(self) -> dict[str, dict[str, Any]]:
        """The command-line webhooks (``--eventgrid-webhook``), which a reset keeps."""
        return {n: s for n, s in self.subscriptions.items() if s.get("builtin")}

    def reset(self, keep: dict[str, dict[str, Any]]) -> None:
        """After the store was emptied: put back ``keep`` (the built-in subscriptions), drop the faults."""
        for name, sub in keep.items():
            self.subscriptions[name] = sub
            self.store.mark("eventSubscriptions", name, sub)
        self.faults.clear()
        self._open = []

    def clear_deliveries(self) -> None:
        self.deliveries.clear()
        self._open = []
        self.store.mark_section("deliveries")

    async def _handshake(self, sub: dict[str, Any]) -> str | None:
        url = f"{self.control_url()}/eventgrid/validate?name={sub['name']}&code={sub['validationCode']}"
        event = validation_event("/subscriptions", sub["validationCode"], url, datetime.now(UTC))
        headers = {"aeg-event-type": "SubscriptionValidation", "aeg-subscription-name": sub["name"].upper()}
        try:
            assert self._session is not None
            async with self._session.post(
                sub["endpoint"], json=[event], headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                if sub["validated"]:  # validated through validationUrl meanwhile
                    return None
                if resp.status != 200:
                    return f"HTTP {resp.status}"
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        if isinstance(body, dict) and body.get("validationResponse") == sub["validationCode"]:
            sub["validated"] = True
            if self.subscriptions.get(sub["name"]) is sub:
                self.store.mark("eventSubscriptions", sub["name"], sub)
            return None
        return "the response did not echo validationCode as validationResponse"

    # --- publishing ------------------------------------------------------------------------------------------
    def publish(self, event: dict[str, Any]) -> None:
        for sub in self.subscriptions.values():
            if sub.get("scope") and not event["subject"].lower().startswith(sub["scope"].lower()):
                continue
            if not filters.matches(sub["filter"], event):
                continue
            for delivery in self._apply_faults(sub, event):
                self.deliveries.append(delivery)
                self._open.append(delivery)
                self.store.mark("deliveries", delivery["id"], delivery)
        if len(self.deliveries) > MAX_FINISHED:
            self._forget_finished()
        self._wake.set()

    def _forget_finished(self) -> None:
        finished = [d for d in self.deliveries if d["status"] in ("delivered", "failed", "dropped")]
        if len(finished) > MAX_FINISHED:
            drop = {id(d) for d in finished[: len(finished) - MAX_FINISHED]}
            for d in finished[: len(finished) - MAX_FINISHED]:
                self.store.mark_removed("deliveries", d["id"])
            self.deliveries[:] = [d for d in self.deliveries if id(d) not in drop]

    def _new(self, sub: dict[str, Any], event: dict[str, Any], delay: float = 0.0) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "subscription": sub["name"],
            "eventId": event["id"],
            "eventType": event["eventType"],
            "subject": event["subject"],
            "operationName": event["data"].get("operationName"),
            "event": event,
            "status": "pending",
            "attempts": 0,
            "createdAt": time.time(),
            "nextAttemptAt": time.time() + delay,
            "lastError": None,
            "deliveredAt": None,
            "fault": None,
        }

    def add_fault(self, doc: dict[str, Any]) -> dict[str, Any]:
        kind = doc.get("kind")
        if kind not in ("drop", "duplicate", "delay", "reorder"):
            raise ValueError("Event Grid fault 'kind' must be drop, duplicate, delay or reorder")
        filters.validate(doc.get("filter") or {})
        count = int(doc.get("count", 2))
        fault = {
            "id": doc.get("id") or uuid.uuid4().hex,
            "kind": kind,
            "times": int(doc.get("times", count if kind == "reorder" else 1)),
            "copies": int(doc.get("copies", 1)),
            "seconds": float(doc.get("seconds", 0)),
            "count": count,
            "filter": doc.get("filter") or {},
            "subscription": doc.get("subscription"),
            "hits": 0,
            "held": [],
        }
        self.faults.append(fault)
        return fault

    def _apply_faults(self, sub: dict[str, Any], event: dict[str, Any]) -> list[dict[str, Any]]:
        for fault in self.faults:
            if fault["subscription"] and fault["subscription"] != sub["name"]:
                continue
            if fault["hits"] >= fault["times"] or not filters.matches(fault["filter"], event):
                continue
            fault["hits"] += 1
            kind = fault["kind"]
            if kind == "drop":
                d = self._new(sub, event)
                d.update(status="dropped", fault="drop")
                return [d]
            if kind == "duplicate":
                copies = [self._new(sub, event, delay=0.05 * i) for i in range(1 + fault["copies"])]
                for d in copies[1:]:
                    d["fault"] = "duplicate"
                return copies
            if kind == "delay":
                d = self._new(sub, event, delay=fault["seconds"])
                d["fault"] = "delay"
                return [d]
            # reorder: hold ``count`` events, then release them newest first
            d = self._new(sub, event)
            d.update(status="held", fault="reorder")
            fault["held"].append(d)
            if len(fault["held"]) >= fault["count"]:
                for i, held in enumerate(reversed(fault["held"])):
                    held.update(status="pending", nextAttemptAt=time.time() + 0.05 * i)
                    self.store.mark("deliveries", held["id"], held)
                fault["held"] = []
            return [d]
        return [self._new(sub, event)]

    # --- the delivery loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._closing:
            now = time.time()
            self._open = [d for d in self._open if d["status"] in OPEN]
            # Per free subscription, the earliest due delivery (equal times: publish order); one in flight per
            # subscription keeps the order. And the earliest attempt of all, to sleep until then.
            due: dict[str, dict[str, Any]] = {}
            earliest: float | None = None
            for d in self._open:
                if d["status"] != "pending":
                    continue
                at = d["nextAttemptAt"]
                earliest = at if earliest is None or at < earliest else earliest
                name = d["subscription"]
                if at <= now and name not in self._busy and (name not in due or at < due[name]["nextAttemptAt"]):
                    due[name] = d
            for name, d in due.items():
                self._busy.add(name)
                task = asyncio.create_task(self._deliver(d))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            wait = max(0.01, earliest - time.time()) if earliest is not None else 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(wait, 1.0))

    async def _deliver(self, d: dict[str, Any]) -> None:
        try:
            await self._attempt(d)
        except Exception:  # a delivery bug must not kill the loop
            logger.exception("delivery %s crashed", d["id"])
            d["status"] = "failed"
        finally:
            self._busy.discard(d["subscription"])
            if any(x is d for x in self._open):  # not if a reset or a clear dropped it meanwhile
                self.store.mark("deliveries", d["id"], d)
            self._wake.set()

    async def _attempt(self, d: dict[str, Any]) -> None:
        sub = self.subscriptions.get(d["subscription"])
        settings = self.settings().eventgrid
        if sub is None:
            d.update(status="failed", lastError="subscription deleted")
            return
        d["attempts"] += 1
        error: str | None
        status = 0
        if not sub["validated"]:
            error = await self._handshake(sub)
            if error:
                error = f"validation handshake: {error}"
        else:
            error = None
        if error is None:
            headers = {
                "aeg-event-type": "Notification",
                "aeg-subscription-name": sub["name"].upper(),
                "aeg-delivery-count": str(d["attempts"] - 1),
                "aeg-data-version": d["event"].get("dataVersion", ""),
                "aeg-metadata-version": d["event"].get("metadataVersion", "1"),
            }
            try:
                assert self._session is not None
                async with self._session.post(
                    sub["endpoint"],
                    json=[d["event"]],
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=settings.delivery_timeout_seconds),
                ) as resp:
                    status = resp.status
                    await resp.read()
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except (aiohttp.ClientError, TimeoutError) as e:
                error = f"{type(e).__name__}: {e}"
        if error is None:
            d.update(status="delivered", deliveredAt=time.time(), lastError=None)
            return
        d["lastError"] = error
        max_attempts = int(sub["retryPolicy"].get("maxDeliveryAttempts") or settings.max_delivery_attempts)
        ttl = sub["retryPolicy"].get("eventTimeToLiveInMinutes")
        expired = ttl is not None and time.time() - d["createdAt"] > float(ttl) * 60
        if status in NO_RETRY or d["attempts"] >= max_attempts or expired:
            d["status"] = "failed"
            logger.warning("event %s to %s failed for good: %s", d["eventId"], sub["endpoint"], error)
            return
        schedule = settings.retry_schedule_seconds or [1.0]
        d["nextAttemptAt"] = time.time() + schedule[min(d["attempts"] - 1, len(schedule) - 1)]
