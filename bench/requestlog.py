"""Reading the emulator's request log: counts by operation, the waiting reads, detection, rates per minute.

Pure functions over the entries ``EmulatorControl.requests()`` returns (``seq``, ``method``, ``path``, ``query``,
``operationId``, ``clientId``, ``virtualTime``, ``status``), so every figure in the tables can be traced back to
logged requests, and these rules are unit-tested on hand-made entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

Entry = dict[str, Any]

# ARM's throttling buckets: reads are GET (and HEAD); deletes have their own bucket; everything else writes.
READ_METHODS = frozenset({"GET", "HEAD"})


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def virtual_time(entry: Entry) -> datetime:
    return parse_time(str(entry["virtualTime"]))


def arm_bucket(method: str) -> str:
    """Which of ARM's per-subscription token buckets a request draws from: read, write or delete."""
    method = method.upper()
    if method in READ_METHODS:
        return "read"
    return "delete" if method == "DELETE" else "write"


def throttled(entries: Iterable[Entry]) -> int:
    """429s that ARM's throttling sent (the emulator's token buckets; injected faults are not counted)."""
    return sum(1 for e in entries if e.get("throttled"))


def of_client(entries: Iterable[Entry], client_id: str) -> list[Entry]:
    """The requests one principal made (the app's managed identity, or the user running the baseline)."""
    return [e for e in entries if (e.get("clientId") or "").lower() == client_id.lower()]


def by_operation(entries: Iterable[Entry]) -> dict[str, int]:
    """Request counts per operationId, most frequent first (ties by name)."""
    counts = Counter(e.get("operationId") or "unmatched" for e in entries)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def same_resource(entry: Entry, resource_id: str) -> bool:
    return str(entry["path"]).rstrip("/").lower() == resource_id.rstrip("/").lower()


def is_replication_read(entry: Entry) -> bool:
    """``GalleryImageVersions_Get`` with ``$expand=ReplicationStatus``: how the app polls replication."""
    return (
        entry.get("operationId") == "GalleryImageVersions_Get"
        and str((entry.get("query") or {}).get("$expand", "")).lower() == "replicationstatus"
    )


def replication_reads(entries: Iterable[Entry], version_id: str) -> list[Entry]:
    """The app's status polls of one version."""
    return [e for e in entries if is_replication_read(e) and same_resource(e, version_id)]


def submission(entries: Iterable[Entry], version_id: str) -> Entry:
    """The PUT that created the version (the start of the wait)."""
    for e in entries:
        if e.get("operationId") == "GalleryImageVersions_CreateOrUpdate" and same_resource(e, version_id):
            return e
    raise LookupError(f"no GalleryImageVersions_CreateOrUpdate of {version_id} in the request log")


def first_at_or_after(entries: Sequence[Entry], moment: datetime) -> Entry | None:
    """The first entry (in log order) whose virtual time is at or after ``moment``: the read that saw a state
    the emulator reached at ``moment`` (state is a function of the emulator's clock at the time of the read)."""
    return next((e for e in entries if virtual_time(e) >= moment), None)


def waiting_reads(polls: Sequence[Entry], submitted: Entry, detected: Entry) -> list[Entry]:
    """The polls issued between the submission and the read that saw completion, both ends included."""
    return [e for e in polls if submitted["seq"] < e["seq"] <= detected["seq"]]


def per_minute(entries: Iterable[Entry]) -> Counter[str]:
    """Requests per virtual minute (``YYYY-MM-DDTHH:MM``)."""
    return Counter(str(e["virtualTime"])[:16] for e in entries)


def peak_per_minute(entries: Iterable[Entry], *, bucket: str | None = None) -> tuple[str | None, int]:
    """The busiest virtual minute and its request count, optionally for one ARM bucket (read/write/delete)."""
    chosen = [e for e in entries if bucket is None or arm_bucket(str(e["method"])) == bucket]
    counts = per_minute(chosen)
    if not counts:
        return None, 0
    minute, count = max(counts.items(), key=lambda item: (item[1], item[0]))
    return minute, count
