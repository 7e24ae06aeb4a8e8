"""Durable state in SQLite: instances, history, queued messages (events and timers), activity work items.

One file (``<state>/durable.sqlite3``) or ``:memory:`` for ``--in-memory``: the same code either way. Every
state change an episode makes is one transaction (:meth:`Store.transaction`), so a kill -9 at any moment
leaves either the state before the episode or the state after it. Activities are rows until their result is
committed, so a started but unrecorded activity runs again after a restart (at-least-once, as on Azure).

Timers are messages with a ``fire_at``; a message becomes visible when ``fire_at <= now`` (the clock's now,
real or virtual). Messages addressed to an execution (task results, timers) carry its ``execution_id``;
external events do not, so they survive continue-as-new like queued messages do on Azure.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devhost.history import RUNNING_STATUSES, HistoryEvent, format_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    engine TEXT,
    history_len INTEGER NOT NULL DEFAULT 0,
    history_total INTEGER NOT NULL DEFAULT 0,
    history_peak INTEGER NOT NULL DEFAULT 0,
    episodes INTEGER NOT NULL DEFAULT 0,
    replay_cpu REAL NOT NULL DEFAULT 0,
    peak_children INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS instances_parent ON instances(parent_instance_id, runtime_status);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created_time);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    fire_at TEXT,
    event_type INTEGER NOT NULL,
    task_id INTEGER,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_instance ON messages(instance_id, id);
CREATE INDEX IF NOT EXISTS messages_due ON messages(fire_at);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE INDEX IF NOT EXISTS activities_instance ON activities(instance_id);
CREATE TABLE IF NOT EXISTS entities (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    entity_exists INTEGER NOT NULL DEFAULT 0,
    state TEXT,
    last_modified TEXT NOT NULL,
    batches INTEGER NOT NULL DEFAULT 0,
    operations INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS activity_runs (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, execution_id, task_id)
);
"""

DB_FILE = "durable.sqlite3"


@dataclass
class Instance:
    instance_id: str
    name: str
    execution_id: str
    runtime_status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None
    engine: str | None
    history_len: int
    history_total: int
    history_peak: int
    episodes: int
    replay_cpu: float
    peak_children: int


@dataclass
class EntityRow:
    """An entity's durable state: what the extension keeps in its scheduler state (``exists``, ``state``)."""

    instance_id: str  # the scheduler ID, @name@key
    name: str
    entity_key: str
    entity_exists: bool
    state: str | None
    last_modified: str
    batches: int = 0
    operations: int = 0


@dataclass(frozen=True)
class Message:
    id: int
    instance_id: str
    execution_id: str | None
    fire_at: str | None
    event: HistoryEvent


@dataclass(frozen=True)
class ActivityItem:
    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


class Store:
    """SQLite access. Not thread-safe by design: the host calls it from its event-loop thread only."""

    def __init__(self, state_dir: Path | None) -> None:
        target = ":memory:"
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            target = str(state_dir / DB_FILE)
        self.db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if state_dir is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes (WAL)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- instances ------------------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> Instance | None:
        row = self.db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return None if row is None else Instance(**dict(row))

    def get_history(self, instance_id: str) -> list[HistoryEvent]:
        rows = self.db.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
        return [json.loads(row["event"]) for row in rows]

    def update_instance(self, instance_id: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        self.db.execute(f"UPDATE instances SET {assignments} WHERE instance_id = ?", (*columns.values(), instance_id))  # noqa: S608 (column names are ours)

    def delete_instance_state(self, instance_id: str, *, keep_row: bool) -> None:
        """Forget history, queued messages and activity items (and the row itself unless ``keep_row``)."""
        for table in ("history", "messages", "activities", "activity_runs"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608
        if not keep_row:
            self.db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))

    def append_history(self, instance: Instance, events: list[HistoryEvent]) -> None:
        self.db.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?, ?, ?)",
            [(instance.instance_id, instance.history_len + i, json.dumps(e)) for i, e in enumerate(events)],
        )

    def running_children(self, parent_id: str) -> int:
        marks = ",".join("?" for _ in RUNNING_STATUSES)
        row = self.db.execute(
            f"SELECT COUNT(*) AS n FROM instances WHERE parent_instance_id = ? AND runtime_status IN ({marks})",  # noqa: S608
            (parent_id, *RUNNING_STATUSES),
        ).fetchone()
        return int(row["n"])

    # -- entities -------------------------------------------------------------------------------------------
    def get_entity(self, instance_id: str) -> EntityRow | None:
        row = self.db.execute("SELECT * FROM entities WHERE instance_id = ?", (instance_id,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["entity_exists"] = bool(values["entity_exists"])
        return EntityRow(**values)

    def save_entity(self, entity: EntityRow) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO entities (instance_id, name, entity_key, entity_exists, state, last_modified,"
            " batches, operations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entity.instance_id,
                entity.name,
                entity.entity_key,
                int(entity.entity_exists),
                entity.state,
                entity.last_modified,
                entity.batches,
                entity.operations,
            ),
        )

    def entity_rows(self) -> list[EntityRow]:
        rows = self.db.execute("SELECT instance_id FROM entities ORDER BY instance_id").fetchall()
        return [entity for entity in (self.get_entity(row["instance_id"]) for row in rows) if entity is not None]

    # -- messages -------------------------------------------------------------------------------------------
    def enqueue(
        self,
        instance_id: str,
        event: HistoryEvent,
        *,
        execution_id: str | None = None,
        fire_at: datetime | None = None,
        task_id: int | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO messages (instance_id, execution_id, fire_at, event_type, task_id, event)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                instance_id,
                execution_id,
                None if fire_at is None else format_timestamp(fire_at),
                event["EventType"],
                task_id,
                json.dumps(event),
            ),
        )

    def visible_messages(self, instance_id: str, now: datetime) -> list[Message]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE instance_id = ? AND (fire_at IS NULL OR fire_at <= ?) ORDER BY id",
            (instance_id, format_timestamp(now)),
        )
        return [
            Message(r["id"], r["instance_id"], r["execution_id"], r["fire_at"], json.loads(r["event"])) for r in rows
        ]

    def delete_messages(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def delete_timer(self, instance_id: str, execution_id: str, timer_id: int) -> None:
        self.db.execute(
            "DELETE FROM messages WHERE instance_id = ? AND execution_id = ? AND task_id = ? AND fire_at IS NOT NULL",
            (instance_id, execution_id, timer_id),
        )

    def delete_execution_work(self, instance_id: str, execution_id: str) -> None:
        """Drop what an ended execution still had queued: its timers, results in flight, activity items."""
        self.db.execute("DELETE FROM messages WHERE instance_id = ? AND execution_id = ?", (instance_id, execution_id))
        self.db.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))

    def runnable_instances(self, now: datetime, limit: int, exclude: set[str]) -> list[str]:
        """Instances with visible messages, oldest message first; a suspended one only for terminate/resume."""
        rows = self.db.execute(
            "SELECT m.instance_id AS id FROM messages m LEFT JOIN instances i ON i.instance_id = m.instance_id"
            " WHERE (m.fire_at IS NULL OR m.fire_at <= ?)"
            " AND (i.runtime_status IS NULL OR i.runtime_status != 'Suspended' OR m.event_type IN (3, 20))"
            " GROUP BY m.instance_id ORDER BY MIN(m.id)",
            (format_timestamp(now),),
        )
        out: list[str] = []
        for row in rows:
            if row["id"] not in exclude:
                out.append(row["id"])
                if len(out) >= limit:
                    break
        return out

    def next_due(self, now: datetime) -> str | None:
        """The earliest timer still in the future."""
        row = self.db.execute("SELECT MIN(fire_at) AS t FROM messages WHERE fire_at > ?", (format_timestamp(now),))
        value = row.fetchone()["t"]
        return None if value is None else str(value)

    # -- activities -----------------------------------------------------------------------------------------
    def add_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, input_text: str | None
    ) -> None:
        self.db.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?, ?, ?, ?, ?)",
            (instance_id, execution_id, task_id, name, input_text),
        )

    def pending_activities(self, limit: int, exclude: set[int]) -> list[ActivityItem]:
        if limit <= 0:
            return []
        rows = self.db.execute("SELECT * FROM activities ORDER BY id")
        out: list[ActivityItem] = []
        for r in rows:
            if r["id"] in exclude:
                continue
            out.append(ActivityItem(r["id"], r["instance_id"], r["execution_id"], r["task_id"], r["name"], r["input"]))
            if len(out) >= limit:
                break
        return out

    def take_activity(self, item_id: int) -> bool:
        """Remove a finished item; False if it vanished meanwhile (instance ended, purged or reset)."""
        return self.db.execute("DELETE FROM activities WHERE id = ?", (item_id,)).rowcount > 0

    def record_attempt(self, item: ActivityItem) -> int:
        """Count a run of an activity work item before it starts (committed at once, so it survives kill -9, like
        the dequeue count of a work-item message on Azure Storage); returns this run's attempt number."""
        row = self.db.execute(
            "INSERT INTO activity_runs (instance_id, execution_id, task_id, name, attempts) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (instance_id, execution_id, task_id) DO UPDATE SET attempts = attempts + 1"
            " RETURNING attempts",
            (item.instance_id, item.execution_id, item.task_id, item.name),
        ).fetchone()
        return int(row["attempts"])

    def activity_runs(self, instance_id: str) -> list[dict[str, Any]]:
        """Every activity run of the instance's executions: ``taskId``, ``name``, ``attempts``, in task order."""
        rows = self.db.execute(
            "SELECT execution_id, task_id, name, attempts FROM activity_runs WHERE instance_id = ?"
            " ORDER BY execution_id, task_id",
            (instance_id,),
        )
        return [
            {"executionId": r["execution_id"], "taskId": r["task_id"], "name": r["name"], "attempts": r["attempts"]}
            for r in rows
        ]

    def activity_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) AS n FROM activities").fetchone()["n"])

    # -- maintenance ----------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.transaction() as db:
            for table in ("instances", "history", "messages", "activities", "activity_runs", "entities"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608
