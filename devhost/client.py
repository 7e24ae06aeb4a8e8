"""A small synchronous client for a running devhost (tests, demo, benchmarks), built from its ready-file info.

    info = ServerProcess("devhost", [...]).start().info
    dh = DevhostClient(info)
    instance_id = dh.start("migrate_image", {"sourceImageId": ...})
    status = dh.wait(instance_id, timeout=30)

Durable calls go to the documented webhook API with the durabletask system key, like any HTTP client would;
``call`` invokes an HTTP function with the default function key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")


class DevhostError(RuntimeError):
    """The devhost answered with an unexpected status; carries the response."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(f"{message}: HTTP {response.status_code} {response.text[:500]}")
        self.response = response


class DevhostClient:
    def __init__(self, info: dict[str, Any], *, timeout: float = 30.0) -> None:
        self.info = info
        self.base_url = str(info["baseUrl"]).rstrip("/")
        self.function_key = str(info["functionKey"])
        self.master_key = str(info["masterKey"])
        self.durable_key = str(info.get("durableTaskKey") or info["masterKey"])
        self.timeout = timeout
        self.session = requests.Session()

    @classmethod
    def from_ready_file(cls, path: str | Path) -> DevhostClient:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- Durable management API -----------------------------------------------------------------------------
    def _api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        params = {"code": self.durable_key, **kwargs.pop("params", {})}
        url = f"{self.base_url}/runtime/webhooks/durabletask/{path}"
        return self.session.request(method, url, params=params, timeout=self.timeout, **kwargs)

    def start(self, orchestrator: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start like the SDK's ``start_new``: the input travels as a JSON string holding its JSON text, so
        ``context.get_input()`` returns it whatever its type (the status API then shows that text)."""
        path = f"orchestrators/{quote(orchestrator, safe='')}"
        if instance_id:
            path += "/" + quote(instance_id, safe="")
        body = None if input is None else json.dumps(json.dumps(input))
        response = self._api("POST", path, data=body, headers={"Content-Type": "application/json"})
        if response.status_code != 202:
            raise DevhostError(f"starting {orchestrator}", response)
        return str(response.json()["id"])

    def status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any] | None:
        params = {
            "showHistory": str(show_history).lower(),
            "showHistoryOutput": str(show_history_output).lower(),
            "showInput": str(show_input).lower(),
        }
        response = self._api("GET", f"instances/{quote(instance_id, safe='')}", params=params)
        if response.status_code == 404:
            return None
        if response.status_code not in (200, 202, 500):
            raise DevhostError(f"status of {instance_id}", response)
        result: dict[str, Any] = response.json()
        return result

    def wait_until(
        self,
        instance_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 30.0,
        interval: float = 0.05,
    ) -> dict[str, Any]:
        """Poll the status until ``predicate`` holds (real-time ``timeout``); TimeoutError shows the last status."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.status(instance_id)
            if last is not None and predicate(last):
                return last
            time.sleep(interval)
        raise TimeoutError(f"{instance_id} did not reach the expected state in {timeout}s; last status: {last}")

    def wait(self, instance_id: str, *, timeout: float = 30.0, interval: float = 0.05) -> dict[str, Any]:
        """Wait for a terminal runtimeStatus (Completed, Failed, Terminated, Canceled)."""
        return self.wait_until(
            instance_id, lambda s: s["runtimeStatus"] in TERMINAL, timeout=timeout, interval=interval
        )

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        path = f"instances/{quote(instance_id, safe='')}/raiseEvent/{quote(name, safe='')}"
        response = self._api("POST", path, data=json.dumps(data), headers={"Content-Type": "application/json"})
        if response.status_code != 202:
            raise DevhostError(f"raising {name} on {instance_id}", response)

    def _operation(self, instance_id: str, operation: str, reason: str) -> None:
        path = f"instances/{quote(instance_id, safe='')}/{operation}"
        response = self._api("POST", path, params={"reason": reason})
        if response.status_code not in (202, 410):
            raise DevhostError(f"{operation} {instance_id}", response)

    def terminate(self, instance_id: str, reason: str = "") -> None:
        self._operation(instance_id, "terminate", reason)

    def suspend(self, instance_id: str, reason: str = "") -> None:
        self._operation(instance_id, "suspend", reason)

    def resume(self, instance_id: str, reason: str = "") -> None:
        self._operation(instance_id, "resume", reason)

    def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        """Signal like the SDK's ``signal_entity``: the input travels as a JSON string holding its JSON text."""
        path = f"entities/{quote(name, safe='')}/{quote(key, safe='')}"
        body = None if input is None else json.dumps(json.dumps(input))
        headers = {"Content-Type": "application/json"}
        response = self._api("POST", path, params={"op": operation}, data=body, headers=headers)
        if response.status_code != 202:
            raise DevhostError(f"signaling {operation} on @{name}@{key}", response)

    def entity_state(self, name: str, key: str) -> Any:
        """The entity's state (``read_entity_state``), or None while it does not exist."""
        response = self._api("GET", f"entities/{quote(name, safe='')}/{quote(key, safe='')}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise DevhostError(f"reading @{name}@{key}", response)
        return response.json()

    def purge(self, instance_id: str) -> int:
        response = self._api("DELETE", f"instances/{quote(instance_id, safe='')}")
        return int(response.json()["instancesDeleted"]) if response.status_code == 200 else 0

    def list_instances(self, *, page_size: int = 100, **filters: str) -> list[dict[str, Any]]:
        """All instances matching ``filters`` (runtimeStatus, instanceIdPrefix, createdTimeFrom/To), all pages."""
        return [item for page in self.pages(page_size=page_size, **filters) for item in page]

    def pages(self, *, page_size: int = 100, **filters: str) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            headers: dict[str, str] = {"x-ms-continuation-token": token} if token else {}
            response = self._api("GET", "instances", params={"top": str(page_size), **filters}, headers=headers)
            if response.status_code != 200:
                raise DevhostError("listing instances", response)
            yield response.json()
            token = response.headers.get("x-ms-continuation-token")
            if not token:
                return

    # -- HTTP functions -------------------------------------------------------------------------------------
    def call(self, method: str, route: str, *, key: str | None = "function", **kwargs: Any) -> requests.Response:
        """Call an HTTP function at ``/api/<route>`` with the default function key (``key=None``: no key)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if key == "function":
            headers["x-functions-key"] = self.function_key
        elif key == "master":
            headers["x-functions-key"] = self.master_key
        url = f"{self.base_url}/{route.lstrip('/')}" if route.startswith("/") else f"{self.base_url}/api/{route}"
        return self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)

    # -- /_devhost (started with --control-endpoints; the master key) ---------------------------------------
    def _control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"x-functions-key": self.master_key}
        return self.session.request(
            method, f"{self.base_url}/_devhost/{path}", headers=headers, timeout=self.timeout, **kwargs
        )

    def stats(self, instance_id_prefix: str = "") -> dict[str, Any]:
        response = self._control("GET", "stats", params={"instanceIdPrefix": instance_id_prefix})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def clock(self, **change: Any) -> dict[str, Any]:
        """GET the clock, or POST a change: ``advance_to=iso``, ``advance_by=seconds``, ``auto_advance=bool``."""
        if not change:
            response = self._control("GET", "clock")
        else:
            names = {"advance_to": "advanceTo", "advance_by": "advanceBy", "auto_advance": "autoAdvance"}
            response = self._control("POST", "clock", json={names[k]: v for k, v in change.items()})
        if response.status_code != 200:
            raise DevhostError("clock", response)
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        self._control("POST", "reset").raise_for_status()

    def break_at(
        self, activity: str, *, at: str = "end", instance_id: str | None = None, skip: int = 0
    ) -> dict[str, Any]:
        """Stop one run of ``activity`` at its ``start`` or ``end`` (see :mod:`devhost.breakpoints`)."""
        body = {"activity": activity, "at": at, "skip": skip, **({"instanceId": instance_id} if instance_id else {})}
        response = self._control("POST", "breakpoints", json=body)
        if response.status_code != 200:
            raise DevhostError("breakpoint", response)
        result: dict[str, Any] = response.json()
        return result

    def wait_for_breakpoint(self, point_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """Until the breakpoint holds a run; its ``hit`` (instanceId, taskId, name, attempt)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self._control("GET", f"breakpoints/{quote(point_id, safe='')}")
            if response.status_code != 200:
                raise DevhostError("breakpoint", response)
            point = response.json()
            if point["paused"]:
                return dict(point["hit"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"breakpoint {point} was not reached in {timeout}s")
            time.sleep(0.05)

    def release_breakpoint(self, point_id: str) -> None:
        response = self._control("DELETE", f"breakpoints/{quote(point_id, safe='')}")
        if response.status_code != 200:
            raise DevhostError("breakpoint", response)

    def activity_runs(self, instance_id: str) -> list[dict[str, Any]]:
        """How many times each activity work item of the instance was started (``taskId``, ``name``, ``attempts``)."""
        return list(self._instance_call("GET", instance_id, "activities")["runs"])

    def hold(self, instance_id: str) -> dict[str, Any]:
        """Run no episode of the instance until :meth:`release`: what arrives meanwhile queues up for one episode."""
        return self._instance_call("POST", instance_id, "hold")

    def release(self, instance_id: str) -> dict[str, Any]:
        return self._instance_call("POST", instance_id, "release")

    def queue(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's queued messages (``eventType``, ``name``, ``taskId``, ``fireAt``) in delivery order."""
        return list(self._instance_call("GET", instance_id, "queue")["messages"])

    def crash_at_continue_as_new(self, instance_id: str, when: str) -> dict[str, Any]:
        """End the devhost like ``kill -9`` at the instance's next continue-as-new, ``before-commit`` or
        ``after-commit`` of that episode."""
        return self._instance_call("POST", instance_id, "crash-at-continue-as-new", json={"when": when})

    def _instance_call(self, method: str, instance_id: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        response = self._control(method, f"instances/{quote(instance_id, safe='')}/{operation}", **kwargs)
        if response.status_code != 200:
            raise DevhostError(operation, response)
        result: dict[str, Any] = response.json()
        return result
