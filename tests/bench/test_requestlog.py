"""The request-log rules every benchmark figure is computed with, on hand-made log entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench import requestlog as log

VERSION = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/gal/images/d/versions/1.0.0"


def entry(seq: int, op: str, at: str, *, method: str = "GET", path: str = VERSION, **query: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "operationId": op,
        "method": method,
        "path": path,
        "query": query,
        "virtualTime": f"2026-01-01T{at}Z",
        "clientId": "app",
    }


def test_buckets_follow_arm_throttling_categories() -> None:
    assert [log.arm_bucket(m) for m in ("GET", "head", "PUT", "PATCH", "POST", "DELETE")] == [
        "read",
        "read",
        "write",
        "write",
        "write",
        "delete",
    ]


def test_throttled_counts_the_buckets_429s_not_injected_faults() -> None:
    entries: list[dict[str, object]] = [
        {"status": 429, "throttled": True},
        {"status": 429, "throttled": False, "fault": "f1"},  # an injected 429
        {"status": 200, "throttled": False},
        {"status": 200},  # an emulator older than the token buckets
    ]
    assert log.throttled(entries) == 1


def test_counts_by_operation_most_frequent_first() -> None:
    entries = [entry(1, "B_Get", "00:00:00"), entry(2, "A_Get", "00:00:00"), entry(3, "B_Get", "00:00:00")]
    entries.append({**entry(4, "x", "00:00:00"), "operationId": None})
    assert list(log.by_operation(entries).items()) == [("B_Get", 2), ("A_Get", 1), ("unmatched", 1)]


def test_replication_reads_are_expanded_gets_of_that_version_only() -> None:
    entries = [
        entry(1, "GalleryImageVersions_Get", "00:00:00"),  # no $expand: a plain read, not a poll
        entry(2, "GalleryImageVersions_Get", "00:01:00", **{"$expand": "replicationStatus"}),
        entry(
            3,
            "GalleryImageVersions_Get",
            "00:02:00",
            path=VERSION.replace("1.0.0", "2.0.0"),
            **{"$expand": "ReplicationStatus"},
        ),
        entry(
            4, "GalleryImageVersions_Get", "00:03:00", path=VERSION.upper() + "/", **{"$expand": "ReplicationStatus"}
        ),
    ]
    assert [e["seq"] for e in log.replication_reads(entries, VERSION)] == [2, 4]


def test_detection_is_the_first_read_at_or_after_the_terminal_time() -> None:
    polls = [entry(n, "p", at) for n, at in ((5, "00:01:00"), (6, "00:09:59"), (7, "00:10:00"), (8, "00:11:00"))]
    terminal = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    detected = log.first_at_or_after(polls, terminal)
    assert detected is not None
    assert detected["seq"] == 7
    assert log.first_at_or_after(polls, datetime(2026, 1, 1, 1, 0, tzinfo=UTC)) is None


def test_waiting_reads_run_from_after_the_submission_to_the_detecting_read_inclusive() -> None:
    submitted = entry(3, "GalleryImageVersions_CreateOrUpdate", "00:00:00", method="PUT")
    polls = [entry(n, "p", "00:00:00") for n in (2, 4, 5, 6, 9)]
    assert [e["seq"] for e in log.waiting_reads(polls, submitted, polls[3])] == [4, 5, 6]


def test_submission_is_found_or_named() -> None:
    put = entry(2, "GalleryImageVersions_CreateOrUpdate", "00:00:00", method="PUT")
    assert log.submission([entry(1, "x", "00:00:00"), put], VERSION) is put
    with pytest.raises(LookupError, match=r"no GalleryImageVersions_CreateOrUpdate of .*/versions/1\.0\.0"):
        log.submission([entry(1, "x", "00:00:00")], VERSION)


def test_peak_per_virtual_minute_by_bucket() -> None:
    entries = [
        entry(1, "r", "00:00:10"),
        entry(2, "r", "00:00:50"),
        entry(3, "w", "00:00:55", method="PUT"),
        entry(4, "r", "00:01:00"),
        entry(5, "w", "00:01:01", method="PATCH"),
        entry(6, "w", "00:01:59", method="PUT"),
    ]
    assert log.peak_per_minute(entries) == ("2026-01-01T00:01", 3)
    assert log.peak_per_minute(entries, bucket="read") == ("2026-01-01T00:00", 2)
    assert log.peak_per_minute(entries, bucket="write") == ("2026-01-01T00:01", 2)
    assert log.peak_per_minute(entries, bucket="delete") == (None, 0)


def test_of_client_ignores_case_and_missing_ids() -> None:
    entries = [{**entry(1, "a", "00:00:00"), "clientId": "APP"}, {**entry(2, "b", "00:00:00"), "clientId": None}]
    assert [e["seq"] for e in log.of_client(entries, "app")] == [1]
