"""The state document's persistence, in process: a save writes only what changed (one journal line), derived
changes wait for the next save, the journal folds into a snapshot, and crash artefacts are read back correctly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from emulator.core import journal
from emulator.core.journal import JOURNAL, SNAPSHOT, StateFileError
from emulator.core.store import Store

RG = "/subscriptions/s/resourceGroups/rg"


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"{RG}/providers/Microsoft.Compute/images/{name}", "name": name, "properties": {}, **extra}


def reloaded(state: Path) -> Store:
    return Store(state)


def journal_lines(state: Path) -> list[Any]:
    return [orjson.loads(line) for line in (state / JOURNAL).read_bytes().splitlines()[1:]]


def test_a_save_appends_only_the_changed_entries(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put(body("a"))
    store.put(body("b"))
    store.save()  # the first save of a process writes a snapshot
    assert store.stats()["snapshotsWritten"] == 1
    record = store.get(f"{RG}/providers/Microsoft.Compute/images/b")
    assert record is not None
    record["body"]["tags"] = {"k": "v"}
    store.mark_record(record)
    store.save()
    key = f"{RG.lower()}/providers/microsoft.compute/images/b"
    assert journal_lines(tmp_path) == [{"entries": [["set", "resources", key, record]]}]
    assert reloaded(tmp_path).data == store.data


def test_nothing_to_save_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save()
    before = store.stats()
    store.save()
    store.get("/nothing")
    assert store.stats() == before
    assert not store.dirty


def test_derived_changes_wait_for_the_next_save_and_are_written_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put(body("a"))
    store.save()
    record = store.get(f"{RG}/providers/Microsoft.Compute/images/a")
    assert record is not None
    record["body"]["properties"]["provisioningState"] = "Succeeded"
    store.mark_record(record, derived=True)
    assert not store.dirty
    store.save()
    assert store.stats()["journalAppends"] == 0
    assert reloaded(tmp_path).data["resources"] != store.data["resources"]  # recomputed on load, by design
    store.put(body("b"))
    store.save()
    assert store.stats()["journalAppends"] == 1
    assert reloaded(tmp_path).data == store.data


def test_removed_then_recreated_entries_keep_the_order_of_memory(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for name in ("a", "b", "c"):
        store.put(body(name))
    store.save()
    store.remove(f"{RG}/providers/Microsoft.Compute/images/a")
    store.put(body("a", tags={"again": "yes"}))
    store.remove(f"{RG}/providers/Microsoft.Compute/images/b", derived=True)
    store.save()
    again = reloaded(tmp_path)
    assert (
        list(again.resources)
        == list(store.resources)
        == [f"{RG.lower()}/providers/microsoft.compute/images/{n}" for n in ("c", "a")]
    )
    assert again.data == store.data


def test_deliveries_are_replayed_by_id_in_publish_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    deliveries = store.data["eventgrid"]["deliveries"]
    for i in range(3):
        deliveries.append({"id": f"d{i}", "status": "pending"})
        store.mark("deliveries", f"d{i}", deliveries[-1])
    store.save()
    deliveries.append({"id": "d3", "status": "pending"})
    store.mark("deliveries", "d3", deliveries[-1])
    deliveries[0]["status"] = "delivered"
    store.mark("deliveries", "d0", deliveries[0])
    del deliveries[1]
    store.mark_removed("deliveries", "d1")
    store.save()
    assert reloaded(tmp_path).data["eventgrid"]["deliveries"] == [
        {"id": "d0", "status": "delivered"},
        {"id": "d2", "status": "pending"},
        {"id": "d3", "status": "pending"},
    ]


def test_whole_sections_and_secrets_survive(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save()
    store.data["replicationFaults"].append({"id": "f1", "region": "eastus"})
    store.mark_section("replicationFaults")
    store.data["clock"] = "2030-01-01T00:00:00Z"
    store.mark_section("clock")
    store.save()
    again = reloaded(tmp_path)
    assert again.data == store.data
    assert again.secrets == store.secrets


def test_the_journal_folds_into_a_snapshot_when_it_outgrows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MIN_FOLD_BYTES", 2000)
    store = Store(tmp_path)
    store.put(body("a"))
    store.save()
    for i in range(40):
        store.put(body(f"n{i}", tags={"i": str(i)}))
        store.save()
    stats = store.stats()
    assert stats["snapshotsWritten"] > 1
    assert stats["journalBytes"] <= max(2000, stats["snapshotBytes"]) + 1000  # one line past the threshold at most
    assert reloaded(tmp_path).data == store.data


def test_a_line_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save()
    store.put(body("kept"))
    store.save()
    with open(tmp_path / JOURNAL, "ab") as f:  # what kill -9 in the middle of a write could leave
        f.write(b'{"entries": [["set", "resources", "/x", {"bo')
    again = reloaded(tmp_path)
    assert again.data == store.data
    again.save()  # a process starts with a fresh snapshot: the torn line is gone
    assert (tmp_path / JOURNAL).read_bytes().count(b"\n") == 1


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save()
    store.put(body("a"))
    store.save()
    with open(tmp_path / JOURNAL, "ab") as f:
        f.write(b"not json\n")
    with pytest.raises(StateFileError, match=r"journal.jsonl line 3 is not a journal entry"):
        reloaded(tmp_path)


def test_a_journal_of_an_older_snapshot_is_ignored(tmp_path: Path) -> None:
    """A crash between writing a new snapshot and starting its journal leaves the previous journal, already
    folded into the snapshot: replaying it again would resurrect what was removed since."""
    store = Store(tmp_path)
    store.save()
    store.put(body("a"))
    store.save()
    old_journal = (tmp_path / JOURNAL).read_bytes()  # generation 1: "set a"
    assert b"images/a" in old_journal
    store.reset()  # the next save writes a new snapshot (generation 2) without "a"
    store.save()
    (tmp_path / JOURNAL).write_bytes(old_journal)
    assert reloaded(tmp_path).resources == {}


def test_a_state_file_of_the_previous_format_loads(tmp_path: Path) -> None:
    data = {"resources": {"/x": {"body": {"id": "/x"}, "meta": {}}}, "clock": "2030-01-01T00:00:00Z"}
    (tmp_path / SNAPSHOT).write_bytes(orjson.dumps({"data": data, "secrets": {"tokenKey": "k", "identityHeader": "h"}}))
    store = Store(tmp_path)
    assert store.resources == data["resources"]
    assert store.secrets == {"tokenKey": "k", "identityHeader": "h"}


def test_in_memory_saves_nothing(tmp_path: Path) -> None:
    store = Store(None)
    store.put(body("a"))
    store.save()
    assert store.stats() == {"mode": "memory"}
    assert not store.dirty
    assert store.differences() == []
