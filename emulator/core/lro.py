"""ARM long-running operations: operation records polled through Azure-AsyncOperation / Location URLs.

An operation is ``InProgress`` until the backend settles it (``Succeeded``/``Failed``); completion times are virtual
timestamps, so the SDK's ``begin_*().result()`` pollers finish when the clock passes them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from emulator.clock import iso, parse_iso
from emulator.core.store import Store

TERMINAL = ("Succeeded", "Failed", "Canceled")


class Operations:
    def __init__(self, store: Store):
        self.store = store
        self.changed = True  # something the settler must look at again (a new operation, a changed plan)

    def touch(self) -> None:
        self.changed = True

    def start(
        self,
        *,
        resource_id: str,
        kind: str,
        subscription: str,
        location: str,
        now: datetime,
        due_seconds: float | None,
        style: str = "capsOperations",
        api_version: str,
    ) -> dict[str, Any]:
        """Record a new operation. ``due_seconds`` None means "the backend decides" (e.g. replication)."""
        name = str(uuid.uuid4())
        op: dict[str, Any] = {
            "name": name,
            "resourceId": resource_id,
            "kind": kind,  # create | update | delete
            "subscription": subscription,
            "location": location.replace(" ", "").lower() or "global",
            "style": style,
            "apiVersion": api_version,
            "startTime": iso(now),
            "due": iso(now + timedelta(seconds=due_seconds)) if due_seconds is not None else None,
            "status": "InProgress",
            "endTime": None,
            "error": None,
            "event": None,
        }
        self.store.operations[name] = op
        self.store.dirty = True
        self.changed = True
        return op

    def get(self, name: str) -> dict[str, Any] | None:
        return self.store.operations.get(name)

    def in_progress(self) -> list[dict[str, Any]]:
        return [op for op in self.store.operations.values() if op["status"] == "InProgress"]

    def finish(self, op: dict[str, Any], at: datetime, error: dict[str, Any] | None = None) -> None:
        op["status"] = "Failed" if error else "Succeeded"
        op["endTime"] = iso(at)
        op["error"] = error
        self.store.dirty = True

    @staticmethod
    def due(op: dict[str, Any], now: datetime) -> bool:
        return op["due"] is not None and now >= parse_iso(op["due"])

    @staticmethod
    def url(op: dict[str, Any], base_url: str) -> str:
        return (
            f"{base_url}/subscriptions/{op['subscription']}/providers/Microsoft.Compute/locations/{op['location']}/"
            f"{op['style']}/{op['name']}?api-version={op['apiVersion']}"
        )

    def headers(self, op: dict[str, Any], base_url: str, retry_after: int) -> dict[str, str]:
        url = self.url(op, base_url)
        return {"Azure-AsyncOperation": url, "Location": url + "&monitor=true", "Retry-After": str(retry_after)}

    @staticmethod
    def status_body(op: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"startTime": op["startTime"], "status": op["status"], "name": op["name"]}
        if op["endTime"]:
            body["endTime"] = op["endTime"]
        if op["error"]:
            body["error"] = op["error"]
        return body
