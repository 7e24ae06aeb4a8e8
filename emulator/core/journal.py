"""Files of a state directory: a snapshot of the whole document (``state.json``) and an append-only journal of the
entries changed since (``journal.jsonl``).

A save appends one line holding only the entries that changed, so it costs what the change weighs, not what the
state weighs; when the journal outgrows the snapshot (and at every start) the two are folded into a new snapshot.
The line is written to the file (the OS page cache) before the request that made the change is answered, so an
acknowledged write survives ``kill -9`` of the emulator; nothing is fsynced, so a power loss may lose the last ones.

A snapshot carries a generation number and the journal's first line names the generation it extends; a journal
of another generation (a crash between writing a new snapshot and starting its journal) is already folded in and
ignored. A last line cut short by a crash was never acknowledged and is dropped.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

SNAPSHOT = "state.json"
JOURNAL = "journal.jsonl"
MIN_FOLD_BYTES = 1 << 20  # fold the journal into a snapshot once it is larger than this and than the snapshot

# A journal entry: ["set", section, key, value] | ["del", section, key] | ["put", section, value].
Entry = list[Any]


class StateFileError(RuntimeError):
    """The state directory holds something that cannot be read back (not a crash artefact: those are handled)."""


@dataclass
class Loaded:
    data: dict[str, Any]
    secrets: dict[str, str]
    generation: int
    replayed: int  # journal lines applied on top of the snapshot (0: the snapshot alone is the state)


def container(data: dict[str, Any], section: str) -> Any:
    """The dict (or, for deliveries, the list) a section's entries live in."""
    if section == "eventSubscriptions":
        return data["eventgrid"]["subscriptions"]
    if section == "deliveries":
        return data["eventgrid"]["deliveries"]
    return data[section]


def apply(data: dict[str, Any], lines: list[list[Entry]]) -> None:
    """Replay journal lines onto ``data``. Deliveries are a list keyed by their ``id``: a new one is appended, a
    known one replaced where it is, so publish order is kept."""
    deliveries = {d["id"]: d for d in container(data, "deliveries")}
    for entries in lines:
        for entry in entries:
            op, section = entry[0], entry[1]
            if op == "put":
                if section == "deliveries":
                    deliveries = {d["id"]: d for d in entry[2]}
                elif section == "eventSubscriptions":
                    data["eventgrid"]["subscriptions"] = entry[2]
                else:
                    data[section] = entry[2]
                continue
            target = deliveries if section == "deliveries" else container(data, section)
            if op == "set":
                target[entry[2]] = entry[3]
            elif op == "del":
                target.pop(entry[2], None)
            else:
                raise StateFileError(f"unknown journal entry {op!r}")
    data["eventgrid"]["deliveries"] = list(deliveries.values())


class Journal:
    """Reads and writes one state directory. Not thread-safe: the emulator's event loop is its only user."""

    def __init__(self, state_dir: Path):
        self.dir = state_dir
        self.generation = 0
        self.snapshot_bytes = 0
        self.journal_bytes = 0
        self.snapshots = 0  # written by this process
        self.appends = 0
        self._fd: int | None = None

    @property
    def snapshot_path(self) -> Path:
        return self.dir / SNAPSHOT

    @property
    def journal_path(self) -> Path:
        return self.dir / JOURNAL

    # --- reading ---------------------------------------------------------------------------------------------
    def load(self, empty: dict[str, Any]) -> Loaded:
        """The state as last saved (``empty`` when the directory is new). Reads only; writes nothing."""
        data, secrets, generation = empty, {}, 0
        if self.snapshot_path.exists():
            saved = orjson.loads(self.snapshot_path.read_bytes())
            data.update(saved.get("data", {}))
            secrets = saved.get("secrets", {})
            generation = int(saved.get("generation", 0))
        lines = self._journal_lines(generation)
        apply(data, lines)
        self.generation = generation
        return Loaded(data, secrets, generation, len(lines))

    def _journal_lines(self, generation: int) -> list[list[Entry]]:
        if not self.journal_path.exists():
            return []
        *complete, tail = self.journal_path.read_bytes().split(b"\n")
        if tail:  # no newline at the end: a line cut short by a crash, before its request was answered
            logger.warning("dropping an incomplete last line of %s", self.journal_path)
        if not complete:
            return []
        header = orjson.loads(complete[0])
        if header.get("generation") != generation:
            logger.info("ignoring %s of generation %s (snapshot is %s)", JOURNAL, header.get("generation"), generation)
            return []
        lines: list[list[Entry]] = []
        for number, line in enumerate(complete[1:], start=2):
            try:
                lines.append(orjson.loads(line)["entries"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise StateFileError(f"{self.journal_path} line {number} is not a journal entry") from None
        return lines

    # --- writing ---------------------------------------------------------------------------------------------
    def write_snapshot(self, data: dict[str, Any], secrets: dict[str, str]) -> None:
        """A new generation: the whole document, then an empty journal extending it (each replaced atomically)."""
        generation = self.generation + 1
        payload = orjson.dumps({"generation": generation, "data": data, "secrets": secrets})
        self._replace(self.snapshot_path, payload)
        self._close()
        header = orjson.dumps({"generation": generation}) + b"\n"
        self._replace(self.journal_path, header)
        self.generation = generation
        self.snapshot_bytes = len(payload)
        self.journal_bytes = len(header)
        self.snapshots += 1

    def append(self, entries: list[Entry]) -> None:
        """One line, written with a single ``write`` before the caller answers its request."""
        if self._fd is None:
            self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        line = orjson.dumps({"entries": entries}) + b"\n"
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        self.journal_bytes += len(line)
        self.appends += 1

    def wants_fold(self) -> bool:
        return self.journal_bytes > max(MIN_FOLD_BYTES, self.snapshot_bytes)

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _replace(self, path: Path, payload: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{path.stem}-", suffix=path.suffix)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)

    def stats(self) -> dict[str, int]:
        return {
            "generation": self.generation,
            "snapshotBytes": self.snapshot_bytes,
            "journalBytes": self.journal_bytes,
            "snapshotsWritten": self.snapshots,
            "journalAppends": self.appends,
        }
