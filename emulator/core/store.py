"""All emulator state in one JSON-serialisable document, and its persistence.

Resources are kept as their ARM JSON bodies (``body``) plus emulator-private ``meta`` (replication plans, who created
them), keyed by the lower-cased resource ID. Nothing time-dependent is stored as a flag that a timer must flip:
operations and replication carry timestamps, and their state is derived from the clock, so a restart (or a virtual
clock advance) resumes them exactly.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from emulator.core.ids import norm

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"


def _empty() -> dict[str, Any]:
    return {
        "subscriptions": {},
        "resources": {},
        "operations": {},
        "replicationFaults": [],
        "eventgrid": {"subscriptions": {}, "deliveries": []},
        "clock": None,
    }


class Store:
    """The state document plus the secrets that must outlive a reset (token key, identity header)."""

    def __init__(self, state_dir: Path | None):
        self.state_dir = state_dir
        self.data: dict[str, Any] = _empty()
        self.secrets: dict[str, str] = {}
        self.dirty = False
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            path = state_dir / STATE_FILE
            if path.exists():
                saved = orjson.loads(path.read_bytes())
                self.data.update(saved.get("data", {}))
                self.secrets = saved.get("secrets", {})
                logger.info("loaded state from %s (%d resources)", path, len(self.resources))
        self.secrets.setdefault("tokenKey", secrets.token_urlsafe(32))
        self.secrets.setdefault("identityHeader", secrets.token_urlsafe(24))

    # --- sections -------------------------------------------------------------------------------------------
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.data["resources"]

    @property
    def operations(self) -> dict[str, dict[str, Any]]:
        return self.data["operations"]

    @property
    def subscriptions(self) -> dict[str, dict[str, Any]]:
        return self.data["subscriptions"]

    # --- resources ------------------------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(norm(resource_id))

    def put(self, body: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        key = norm(body["id"])
        record = self.resources.get(key)
        if record is None:
            record = {"body": body, "meta": meta or {}}
            self.resources[key] = record
        else:
            record["body"] = body
            if meta is not None:
                record["meta"] = meta
        self.dirty = True
        return record

    def remove(self, resource_id: str) -> dict[str, Any] | None:
        self.dirty = True
        return self.resources.pop(norm(resource_id), None)

    def under(self, scope: str, resource_type: str) -> Iterator[dict[str, Any]]:
        """Records of ``resource_type`` whose ID lies under ``scope`` (in insertion order)."""
        prefix = norm(scope) + "/"
        rtype = resource_type.lower()
        for key, record in list(self.resources.items()):
            if key.startswith(prefix) and record["body"].get("type", "").lower() == rtype:
                yield record

    def reset(self) -> None:
        clock = self.data.get("clock")
        self.data = _empty()
        self.data["clock"] = clock
        self.dirty = True

    # --- persistence ----------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the document atomically (temp file + rename) when something changed; no-op in memory."""
        if self.state_dir is None or not self.dirty:
            return
        payload = orjson.dumps({"data": self.data, "secrets": self.secrets})  # ~10x json's speed: saved per write
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, self.state_dir / STATE_FILE)
        self.dirty = False
