"""Correctness under load (``tests/emulator/load.py``): many versions replicating at once, read and tagged while
they do, all completed by the clock; with ``--state``, one journal line per write and nothing for reads, and the
state after kill -9 is the state before. The figures it prints are measurements, not assertions
(``EMULATOR_LOAD_VERSIONS`` sets the size; ``pytest -s`` shows them)."""

from __future__ import annotations

import os

import pytest

from tests.emulator.load import run

VERSIONS = int(os.environ.get("EMULATOR_LOAD_VERSIONS", "60"))


@pytest.mark.slow
def test_many_versions_with_state_save_once_per_write_and_survive_kill_9() -> None:
    result = run(VERSIONS, persistent=True)
    print("\n" + result.table())
    saves = result.persistence["journalAppends"] + result.persistence["snapshotsWritten"]
    assert saves == result.writes + 1  # + the snapshot every start writes (the seed's state)
    assert result.consistent_after_kill is True


@pytest.mark.slow
def test_many_versions_in_memory() -> None:
    result = run(VERSIONS, persistent=False)
    print("\n" + result.table())
    assert [p.requests for p in result.phases] == [VERSIONS, 3 * VERSIONS, VERSIONS]
