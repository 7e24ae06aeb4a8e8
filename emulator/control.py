"""A small synchronous client for the emulator's control plane (``/_emulator``), for tests, the demo and the
benchmarks. Build it from the ready-file document (``ServerProcess.info``) or a ready-file path."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import requests


class ControlError(RuntimeError):
    """The control plane answered with an error; ``status`` and ``body`` say which."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"control plane returned {status}: {body}")
        self.status = status
        self.body = body


class EmulatorControl:
    def __init__(self, info: dict[str, Any] | str | Path, *, timeout: float = 30.0):
        self.info: dict[str, Any] = info if isinstance(info, dict) else json.loads(Path(info).read_text())
        info = self.info
        self.url = str(info["controlUrl"]).rstrip("/")
        self.session = requests.Session()
        self.ca_bundle = str(info["caBundle"])
        self.timeout = timeout

    # --- plumbing --------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        # verify per request: a session default would lose to REQUESTS_CA_BUNDLE pointing at another emulator
        resp = self.session.request(
            method, self.url + path, json=body, params=params, timeout=self.timeout, verify=self.ca_bundle
        )
        data = resp.json() if resp.content else None
        if resp.status_code >= 400:
            raise ControlError(resp.status_code, data)
        return data

    def client_env(self) -> dict[str, str]:
        """Environment for a process whose azure-identity/SDK clients should use this emulator."""
        return {
            "IDENTITY_ENDPOINT": str(self.info["identityEndpoint"]),
            "IDENTITY_HEADER": str(self.info["identityHeader"]),
            "REQUESTS_CA_BUNDLE": str(self.info["caBundle"]),
            "SSL_CERT_FILE": str(self.info["caBundle"]),
        }

    # --- state -----------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self, *, reseed: bool = True) -> None:
        self._call("POST", "/reset", {"reseed": reseed})

    def seed(self, document: dict[str, Any] | str | Path) -> dict[str, Any]:
        if not isinstance(document, dict):
            document = json.loads(Path(document).read_text())
        return self._call("POST", "/seed", document)

    def check_state(self) -> list[str]:
        """Persistence self-check (``--state`` only): saves everything pending, reads the state directory back and
        returns the entries (``section/key``) that differ from memory; empty when every change was saved."""
        return self._call("POST", "/state/check")["differences"]

    def resources(self, resource_type: str | None = None) -> list[dict[str, Any]]:
        """Stored records ``{"body", "meta"}`` (meta: replication plan, terminalAt, ...)."""
        params = {"type": resource_type} if resource_type else None
        return self._call("GET", "/resources", params=params)["value"]

    def operations(self) -> list[dict[str, Any]]:
        return self._call("GET", "/operations")["value"]

    # --- clock and settings ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "/clock")["now"].replace("Z", "+00:00"))

    def advance(self, seconds: float | None = None, *, to: datetime | str | None = None) -> datetime:
        body: dict[str, Any] = (
            {"advanceBy": seconds} if to is None else {"advanceTo": to if isinstance(to, str) else to.isoformat()}
        )
        return datetime.fromisoformat(self._call("POST", "/clock", body)["now"].replace("Z", "+00:00"))

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Deep-merge ``patch`` into the settings, e.g. ``{"replication": {"fixedSeconds": 3600}}``."""
        return self._call("PUT", "/config", patch)

    # --- faults and RBAC -------------------------------------------------------------------------------------
    def add_fault(self, **fault: Any) -> dict[str, Any]:
        """``add_fault(operationId="Images_Get", status=429, retryAfter=1, times=2)``;
        ``add_fault(kind="deny", action="Microsoft.Compute/images/delete")``;
        ``add_fault(kind="replication", region="eastus", mode="fail", versionPattern="1\\.0\\.0$")``."""
        return self._call("POST", "/faults", fault)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["value"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_role(self, role: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", "/rbac", role)

    def role(self) -> dict[str, Any] | None:
        """The RBAC-lite role in force (None: everything allowed)."""
        return self._call("GET", "/rbac")["role"]

    def clear_role(self) -> None:
        self._call("DELETE", "/rbac")

    # --- Event Grid ------------------------------------------------------------------------------------------
    def subscribe(
        self,
        endpoint: str,
        *,
        filter: dict[str, Any] | None = None,
        name: str | None = None,
        retry_policy: dict[str, Any] | None = None,
        handshake: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "endpoint": endpoint,
            "filter": filter or {},
            "validation": "handshake" if handshake else "deferred",
        }
        if name:
            body["name"] = name
        if retry_policy:
            body["retryPolicy"] = retry_policy
        return self._call("POST", "/eventgrid/subscriptions", body)

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._call("GET", "/eventgrid/subscriptions")["value"]

    def add_delivery_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """``kind``: drop | duplicate (copies) | delay (seconds) | reorder (count); ``times``, ``filter``."""
        return self._call("POST", "/eventgrid/faults", {"kind": kind, **options})

    def deliveries(self, *, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else None
        return self._call("GET", "/eventgrid/deliveries", params=params)["value"]

    # --- request log -----------------------------------------------------------------------------------------
    def requests(self, *, since: int = 0, operation_id: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if operation_id:
            params["operationId"] = operation_id
        return self._call("GET", "/requests", params=params)["value"]

    def request_summary(self, *, since: int = 0) -> dict[str, Any]:
        return self._call("GET", "/requests/summary", params={"since": since})

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    # --- ARM throttling --------------------------------------------------------------------------------------
    def throttling(self) -> dict[str, Any]:
        """``throttled`` (429s the token buckets sent: total and per reads/writes/deletes), ``buckets``, settings."""
        return self._call("GET", "/throttling")

    def reset_throttling(self) -> None:
        """Full buckets, no 429 counted."""
        self._call("DELETE", "/throttling")
