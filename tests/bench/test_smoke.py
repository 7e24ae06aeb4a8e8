"""Smoke run of the benchmark command (``--quick``, 5 migrations): real processes, correctness only.

Checks that the figures are consistent with each other and with what the SDK poller must do on the virtual
clock; never how fast anything is (benchmarks measure speed, tests do not).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest

from bench.polling import QUICK_REPLICATION_SECONDS
from bench.world import QUEUED_SECONDS
from localrun.processes import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MIGRATIONS = 5


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "all",
        "--quick",
        "--migrations",
        str(MIGRATIONS),
        "--batch-migrations",
        "4",
        "--output",
        str(output),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=290, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Polling economy" in done.stdout
    assert output.with_suffix(".md").exists()
    return dict(json.loads(output.read_text()))


def test_every_benchmark_has_a_stamped_section(document: dict[str, Any]) -> None:
    assert sorted(document["sections"]) == ["batch", "batch-engine", "curves", "history", "polling", "replay", "scale"]
    for body in document["sections"].values():
        assert body["command"].startswith("python -m bench all --quick")
        assert body["machine"]["cores"] >= 1
        assert body["machine"]["python"].startswith("3.")
        for table in body["tables"]:
            assert table["rows"], table["key"]
            assert all(len(row) == len(table["columns"]) for row in table["rows"])


def test_our_migration_figures_add_up(document: dict[str, Any]) -> None:
    [case] = document["sections"]["polling"]["data"]
    ours = case["ours"]
    assert case["replication_seconds"] == QUICK_REPLICATION_SECONDS[0]
    assert ours["outcome"] == "succeeded"
    waiting = ours["waiting"]
    assert waiting["total"] == sum(waiting["requests"].values())
    assert waiting["requests"]["GalleryImageVersions_CreateOrUpdate"] == 1
    assert 1 <= waiting["waiting_reads"] <= waiting["requests"]["GalleryImageVersions_Get"]
    detected = _seconds_between(waiting["terminal_at"], waiting["detected_at"])
    assert detected == pytest.approx(waiting["latency_seconds"], abs=0.01)
    assert waiting["latency_seconds"] >= 0
    assert ours["virtual_seconds"] >= QUEUED_SECONDS + case["replication_seconds"]
    assert ours["history_events"] >= ours["episodes"] > waiting["waiting_reads"]


def test_the_sdk_poller_polls_at_its_interval_on_the_virtual_clock(document: dict[str, Any]) -> None:
    [case] = document["sections"]["polling"]["data"]
    total = QUEUED_SECONDS + case["replication_seconds"]
    by_case = {b["case"]: b for b in case["baselines"]}
    for name, interval in (("sdk-default", 30), ("interval-60s", 60)):
        baseline = by_case[name]
        assert baseline["poll_intervals"] == [interval]
        # one status read right after the PUT, then one per interval until the first at or after completion
        polls = math.ceil(total / interval)
        assert baseline["waiting"]["waiting_reads"] == 1 + polls
        assert baseline["waiting"]["latency_seconds"] == pytest.approx(polls * interval - total, abs=0.01)
        assert baseline["waiting"]["requests"]["GalleryImageVersions_CreateOrUpdate"] == 1


def test_scale_run_counts_one_version_per_image(document: dict[str, Any]) -> None:
    [result] = document["sections"]["scale"]["data"]
    assert result["scenario"] == "tag-trigger"
    assert result["migrations"] == MIGRATIONS
    assert result["outcomes"] == {"succeeded": MIGRATIONS}
    assert result["instances"] == result["versions"] == result["images_with_one_version"] == MIGRATIONS
    assert result["allSucceededOnce"] is True
    assert sum(result["arm_requests_by_bucket"].values()) == result["arm_requests"]
    assert result["user_requests"] == MIGRATIONS  # the tag writes
    assert result["throttled"] == {"app": 0, "tagging": 0}  # within ARM's buckets, which the emulator enforces
    peaks = result["peak_per_minute"]
    assert 0 < peaks["replication-polls"]["requests"] <= peaks["read"]["requests"] <= result["arm_requests"]
    assert peaks["read"]["budget"] == 1500
    assert {p["name"] for p in result["processes"]} == {"devhost", "emulator"}
    assert all(p["cpu_seconds"] > 0 and p["peak_rss_mib"] > 0 for p in result["processes"])


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_the_batch_figures_add_up(document: dict[str, Any]) -> None:
    [engine] = document["sections"]["batch-engine"]["data"]  # --quick: 100 stand-in migrations, shipped design only
    assert (engine["design"], engine["images"], engine["succeeded"]) == ("rounds", 100, 100)
    assert engine["engine_replay_cpu_seconds"] > engine["root_replay_cpu_seconds"] > 0
    assert engine["root_history_total"] >= engine["root_history_peak"] > 0
    batch = document["sections"]["batch"]["data"]
    assert (batch["migrations"], batch["allSucceededOnce"]) == (4, True)
    (time_row,) = next(t for t in document["sections"]["batch"]["tables"] if t["key"] == "batch-time")["rows"]
    count, _, devhost, replay_migrations, replay_batch, rest, emulator, _ = time_row
    assert count == 4
    assert devhost == pytest.approx(replay_migrations + replay_batch + rest, abs=0.2)
    assert min(replay_migrations, replay_batch, emulator) > 0
