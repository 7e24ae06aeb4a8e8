"""The request log: one entry per ARM request (method, path, api-version, operationId, RBAC action, status,
principal, real and virtual time; bodies when recording is on). Benchmarks count ARM calls from it."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

MAX_ENTRIES = 200_000


class RequestLog:
    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self.seq = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.seq += 1
        entry["seq"] = self.seq
        self.entries.append(entry)

    def query(
        self, *, since: int = 0, operation_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        out = [
            e
            for e in self.entries
            if e["seq"] > since
            and (operation_id is None or (e.get("operationId") or "").lower() == operation_id.lower())
        ]
        return out[-limit:] if limit else out

    def summary(self, *, since: int = 0) -> dict[str, Any]:
        entries = self.query(since=since)
        return {
            "total": len(entries),
            "lastSeq": self.seq,
            "byOperationId": dict(Counter(e.get("operationId") or "unmatched" for e in entries)),
            "byMethod": dict(Counter(e["method"] for e in entries)),
            "byStatus": dict(Counter(str(e["status"]) for e in entries)),
            "byAction": dict(Counter(e.get("action") or "none" for e in entries)),
            "throttled": sum(1 for e in entries if e.get("throttled")),
            "actions": sorted({e["action"] for e in entries if e.get("action")}),
        }

    def clear(self) -> None:
        self.entries.clear()
