"""All emulator state in one JSON-serialisable document, the changes made to it, and its persistence.

Resources are kept as their ARM JSON bodies (``body``) plus emulator-private ``meta`` (replication plans, who created
them), keyed by the lower-cased resource ID. Nothing time-dependent is stored as a flag that a timer must flip:
operations and replication carry timestamps, and their state is derived from the clock, so a restart (or a virtual
clock advance) resumes them exactly.

Whoever changes an entry in place says so (:meth:`Store.mark`, :meth:`Store.mark_record`; ``put`` and ``remove``
do it themselves), and :meth:`Store.save` writes exactly those entries (see :mod:`emulator.core.journal`). A change
that follows from the clock alone (an operation finishing, replication completing) is marked ``derived``: it is
written with the next save but never causes one, since loading the state and settling it at the same instant
computes it again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emulator.core.ids import norm
from emulator.core.journal import Entry, Journal, container

logger = logging.getLogger(__name__)

# Sections whose entries are saved one by one (deliveries: a list keyed by "id"), and those saved whole.
KEYED = ("subscriptions", "resources", "operations", "eventSubscriptions", "deliveries")
WHOLE = ("replicationFaults", "clock")


def _empty() -> dict[str, Any]:
    return {
        "subscriptions": {},
        "resources": {},
        "operations": {},
        "replicationFaults": [],
        "eventgrid": {"subscriptions": {}, "deliveries": []},
        "clock": None,
    }


@dataclass
class _Change:
    removed_first: bool  # the entry was removed since the last save (a re-created one goes to the end)
    value: Any  # the entry as it is now (None: removed)


class Store:
    """The state document plus the secrets that must outlive a reset (token key, identity header)."""

    def __init__(self, state_dir: Path | None):
        self.state_dir = state_dir
        self.data: dict[str, Any] = _empty()
        self.secrets: dict[str, str] = {}
        self._journal: Journal | None = None
        self._changes: dict[tuple[str, str], _Change] = {}
        self._whole: set[str] = set()
        self._durable = False  # a change that must be on disk before the next answer
        self._rewrite = state_dir is not None  # fold whatever is on disk into a fresh snapshot at the first save
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._journal = Journal(state_dir)
            loaded = self._journal.load(self.data)
            self.data, self.secrets = loaded.data, loaded.secrets
            if loaded.generation or loaded.replayed:
                logger.info(
                    "loaded state from %s (%d resources, %d journal lines)",
                    state_dir,
                    len(self.resources),
                    loaded.replayed,
                )
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
        self.mark("resources", key, record)
        return record

    def remove(self, resource_id: str, *, derived: bool = False) -> dict[str, Any] | None:
        key = norm(resource_id)
        record = self.resources.pop(key, None)
        if record is not None:
            self.mark_removed("resources", key, derived=derived)
        return record

    def mark_record(self, record: dict[str, Any], *, derived: bool = False) -> None:
        """A stored resource record was changed in place."""
        self.mark("resources", norm(record["body"]["id"]), record, derived=derived)

    def under(self, scope: str, resource_type: str) -> Iterator[dict[str, Any]]:
        """Records of ``resource_type`` whose ID lies under ``scope`` (in insertion order)."""
        prefix = norm(scope) + "/"
        rtype = resource_type.lower()
        for key, record in list(self.resources.items()):
            if key.startswith(prefix) and record["body"].get("type", "").lower() == rtype:
                yield record

    def reset(self) -> None:
        """Empty the document, keeping the clock; the next save writes a fresh snapshot."""
        clock = self.data.get("clock")
        self.data = _empty()
        self.data["clock"] = clock
        self._changes.clear()
        self._whole.clear()
        self._rewrite = True

    # --- changes --------------------------------------------------------------------------------------------
    def mark(self, section: str, key: str, value: Any, *, derived: bool = False) -> None:
        """Entry ``key`` of ``section`` is now ``value`` (created or changed in place)."""
        previous = self._changes.get((section, key))
        removed = previous is not None and (previous.removed_first or previous.value is None)
        self._changes[(section, key)] = _Change(removed, value)
        self._durable = self._durable or not derived

    def mark_removed(self, section: str, key: str, *, derived: bool = False) -> None:
        self._changes[(section, key)] = _Change(True, None)
        self._durable = self._durable or not derived

    def mark_section(self, section: str) -> None:
        """A section changed as a whole (replication faults, the clock, a cleared list)."""
        self._whole.add(section)
        self._durable = True

    @property
    def dirty(self) -> bool:
        """Something must be saved before the next answer (derived changes alone do not count)."""
        return self._durable or self._rewrite

    # --- persistence ----------------------------------------------------------------------------------------
    def save(self, *, flush: bool = False) -> None:
        """Write what changed since the last save, when something must be saved (``flush``: also when only derived
        changes are pending). No-op in memory."""
        if self._journal is not None:
            if not (self.dirty or (flush and (self._changes or self._whole))):
                return  # derived changes wait for the next save
            if self._rewrite or self._journal.wants_fold():
                self._journal.write_snapshot(self.data, self.secrets)
            else:
                self._journal.append(self._entries())
        self._changes.clear()
        self._whole.clear()
        self._durable = self._rewrite = False

    def _entries(self) -> list[Entry]:
        entries: list[Entry] = []
        for (section, key), change in self._changes.items():
            if change.removed_first:
                entries.append(["del", section, key])
            if change.value is not None:
                entries.append(["set", section, key, change.value])
        entries += [["put", section, container(self.data, section)] for section in sorted(self._whole)]
        return entries

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    def stats(self) -> dict[str, Any]:
        if self._journal is None:
            return {"mode": "memory"}
        return {"mode": "journal", **self._journal.stats()}

    def differences(self) -> list[str]:
        """Write every pending change, read the state directory back and list the entries that differ from
        memory (``section/key``): a self-check that every change was marked. Empty when in memory."""
        if self._journal is None or self.state_dir is None:
            return []
        self.save(flush=True)
        on_disk = Journal(self.state_dir).load(_empty()).data
        in_memory = orjson.loads(orjson.dumps(self.data))
        found: list[str] = []
        for section in KEYED:
            mine, theirs = container(in_memory, section), container(on_disk, section)
            if section == "deliveries":
                if [d["id"] for d in mine] != [d["id"] for d in theirs]:
                    found.append("deliveries (order or membership)")
                mine, theirs = {d["id"]: d for d in mine}, {d["id"]: d for d in theirs}
            elif list(mine) != list(theirs):
                found.append(f"{section} (order or membership)")
            found += [f"{section}/{k}" for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
        found += [section for section in WHOLE if in_memory[section] != on_disk[section]]
        return found
