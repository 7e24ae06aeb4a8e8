"""The app-wide ARM budget under a mixed load (issue 16): batches and tag-triggered migrations at once.

``python -m bench.budget [--batches 3] [--batch-size 1000] [--tagged 200] [--scale 1] [--concurrency 100]``
starts an emulator (fast profile: image deletes and version updates finish at once; replication on the bench's
timing; ARM's throttling on) and a devhost on the virtual clock, seeds a gallery, ``batches`` resource groups of
``batch-size`` images and ``tagged`` more images, then at one virtual instant posts one batch per group and tags
the other images through the Tags API (the Event Grid trigger starts their migrations). It waits until every
migration has an outcome and prints: outcomes, the 429s the app received from the emulator's token buckets, the
peak requests per virtual minute per ARM bucket against the bucket (burst plus a minute of refill), and what the
budget entity did (grants, how many waited and how long, poll leases).

``--scale`` shrinks ARM's buckets (the emulator's) and the app's budget settings alike, so a small load meets the
same pressure as a large one (the scaled-down version in ``tests/fleet/test_shared_budget.py`` runs this code).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import requestlog as log
from bench import results
from bench.procstats import ProcessMonitor, ProcessUsage
from bench.tables import Table
from bench.world import APP_CLIENT_ID, REGIONS, SUB, gallery, image, image_id, start_by_tag, wait_until
from devhost.client import TERMINAL
from localrun.stack import LocalStack
from migration.budget import BUDGET_ENTITY, BudgetState
from tests.e2e.world import GALLERY, GALLERY_RG, LOCATION, RG

logger = logging.getLogger(__name__)

OUTPUT = results.LATEST.with_name("budget.json")
TAGGING_THREADS = 16
# ARM's buckets per principal and subscription (Microsoft Learn, "Understand how Azure Resource Manager throttles
# requests"): size and refill per second; the emulator's defaults and the app's ARM_BUDGET_* defaults.
AZURE_BUCKETS = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}
AZURE_POLL_LEASES = 50


@dataclass(frozen=True)
class MixedLoad:
    batches: int = 3
    batch_size: int = 1000
    tagged: int = 200
    scale: float = 1.0
    concurrency: int = 100  # each batch's maxConcurrency (the API's maximum)
    replication_seconds: int = 600
    timeout_seconds: float = 7200.0

    @property
    def migrations(self) -> int:
        return self.batches * self.batch_size + self.tagged

    def buckets(self) -> dict[str, tuple[int, float]]:
        return {
            kind: (max(1, round(size * self.scale)), rate * self.scale) for kind, (size, rate) in AZURE_BUCKETS.items()
        }

    def app_settings(self) -> dict[str, str]:
        out: dict[str, str] = {"ARM_BUDGET_POLL_LEASES": str(max(1, round(AZURE_POLL_LEASES * self.scale)))}
        for kind, (size, rate) in self.buckets().items():
            out[f"ARM_BUDGET_{kind.upper()}_BUCKET"] = str(size)
            out[f"ARM_BUDGET_{kind.upper()}_PER_SECOND"] = str(rate)
        return out

    def emulator_throttling(self) -> dict[str, Any]:
        return {kind: {"size": size, "refillPerSecond": rate} for kind, (size, rate) in self.buckets().items()}


@dataclass
class MixedResult:
    load: dict[str, Any]
    wall_seconds: float
    virtual_seconds: float
    processes: list[ProcessUsage]
    outcomes: dict[str, int]
    failed: list[str]  # "instance: code: message" of each migration that did not succeed
    arm_requests: dict[str, int]  # the app's, by bucket
    throttled: dict[str, int]  # 429s from the emulator's token buckets: app, and the benchmark's own tagging
    peak_per_minute: dict[str, dict[str, Any]]  # bucket -> {minute, requests, allowed}
    budget: dict[str, Any] = field(default_factory=dict)  # the entity's stats
    saw_waiting: bool = False  # some migration's status said "waiting for ARM budget"

    @property
    def succeeded(self) -> int:
        return self.outcomes.get("succeeded", 0)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "succeeded": self.succeeded}


def _groups(load: MixedLoad) -> list[str]:
    return [f"rg-batch-{n}" for n in range(1, load.batches + 1)]


def _seed(stack: LocalStack, load: MixedLoad) -> None:
    groups = [RG, GALLERY_RG, *_groups(load)]
    resources = [gallery()]
    resources += [
        image(f"b{g}-{i:05d}", group=group) for g, group in enumerate(_groups(load), 1) for i in range(load.batch_size)
    ]
    resources += [image(f"tag-{i:05d}") for i in range(load.tagged)]
    stack.arm.seed(
        {
            "subscriptions": [{"subscriptionId": SUB, "displayName": "mixed load"}],
            "resourceGroups": [{"subscriptionId": SUB, "name": g, "location": LOCATION} for g in groups],
            "resources": resources,
        }
    )


def _targets() -> list[dict[str, Any]]:
    return [{"name": name, "replicaCount": int(count)} for name, count in (p.split("=") for p in REGIONS.split(";"))]


def _start(stack: LocalStack, load: MixedLoad) -> None:
    """Everything at one virtual instant: the batches, then the tags (the clock is held until all have started)."""
    stack.host.clock(auto_advance=False)
    for group in _groups(load):
        body = {
            "scope": {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/{group}"]},
            "galleryId": GALLERY,
            "targetRegions": _targets(),
            "maxConcurrency": load.concurrency,
        }
        stack.host.call("POST", "batches", json=body).raise_for_status()
    with ThreadPoolExecutor(TAGGING_THREADS) as pool:
        list(pool.map(lambda n: start_by_tag(stack, image_id(f"tag-{n:05d}")), range(load.tagged)))
    stack.host.clock(auto_advance=True)


def _migrations(stack: LocalStack) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = stack.host.stats("mig-")["instances"]
    return rows


def run(load: MixedLoad, *, stack: LocalStack | None = None) -> MixedResult:
    """The whole load on a fresh stack (or on ``stack``, whose app settings must be ``load.app_settings()``)."""
    own = stack is None
    if stack is None:
        stack = LocalStack(
            clock="virtual",
            seed=None,
            emulator_profile="fast",
            persist_emulator=False,
            settings=load.app_settings(),
        ).start()
    try:
        _seed(stack, load)
        stack.arm.configure({"replication": {"fixedSeconds": load.replication_seconds}})
        stack.arm.configure({"throttling": load.emulator_throttling()})
        first_seq = int(stack.arm.request_summary()["lastSeq"])
        started_at = stack.host.clock()["now"]
        waiting: set[str] = set()
        assert stack.devhost_process is not None
        assert stack.emulator_process is not None
        pids = {"devhost": stack.devhost_process.pid, "emulator": stack.emulator_process.pid}
        with ProcessMonitor(pids) as monitor:
            _start(stack, load)

            def finished() -> bool:
                rows = _migrations(stack)
                waiting.update(_waiting(stack, rows))
                done = sum(1 for row in rows.values() if row["runtimeStatus"] in TERMINAL)
                return len(rows) >= load.migrations and done >= load.migrations

            wait_until(finished, timeout=load.timeout_seconds, interval=1.0, what="every migration's outcome")
        return _collect(stack, load, first_seq, started_at, monitor, bool(waiting))
    finally:
        if own:
            stack.stop()


def _waiting(stack: LocalStack, rows: dict[str, dict[str, Any]]) -> set[str]:
    """Running migrations whose status says they wait for ARM budget (a sample of a few, each look)."""
    running = [i for i, row in rows.items() if row["runtimeStatus"] == "Running"][:5]
    found = set()
    for instance in running:
        status = stack.host.status(instance, show_input=False) or {}
        if str((status.get("customStatus") or {}).get("message", "")).startswith("waiting for ARM budget"):
            found.add(instance)
    return found


def _collect(
    stack: LocalStack, load: MixedLoad, first_seq: int, started_at: str, monitor: ProcessMonitor, saw_waiting: bool
) -> MixedResult:
    statuses = stack.host.list_instances(instanceIdPrefix="mig-")
    outcomes = Counter(str((s.get("output") or {}).get("outcome", s["runtimeStatus"])) for s in statuses)
    failed = [
        f"{s['instanceId']}: {((s.get('output') or {}).get('error') or {}).get('code')}: "
        f"{((s.get('output') or {}).get('error') or {}).get('message')}"
        for s in statuses
        if (s.get("output") or {}).get("outcome") != "succeeded"
    ]
    entries = stack.arm.requests(since=first_seq)
    app = log.of_client(entries, APP_CLIENT_ID)
    peaks: dict[str, dict[str, Any]] = {}
    for kind, (size, rate) in load.buckets().items():
        minute, count = log.peak_per_minute(app, bucket=kind.rstrip("s"))
        peaks[kind] = {"minute": minute, "requests": count, "allowed": round(size + 60 * rate)}
    state = stack.host.entity_state(BUDGET_ENTITY, SUB)
    stats = BudgetState.model_validate(state).stats.model_dump(mode="json") if state else {}
    finished_at = max((s.get("lastUpdatedTime") or "") for s in statuses) if statuses else started_at
    virtual = (log.parse_time(finished_at) - log.parse_time(started_at)).total_seconds()
    return MixedResult(
        load=asdict(load),
        wall_seconds=round(monitor.wall_seconds, 1),
        virtual_seconds=round(virtual, 1),
        processes=monitor.usage(),
        outcomes=dict(outcomes),
        failed=failed[:20],
        arm_requests=dict(Counter(log.arm_bucket(str(e["method"])) for e in app)),
        throttled={"app": log.throttled(app), "tagging": log.throttled(entries) - log.throttled(app)},
        peak_per_minute=peaks,
        budget=stats,
        saw_waiting=saw_waiting,
    )


def tables(result: MixedResult) -> list[Table]:
    load = MixedLoad(**result.load)
    shape = f"{load.batches} x {load.batch_size} + {load.tagged}"
    outcome = Table(
        "budget-load",
        "Shared ARM budget under a mixed load: batches and tag-triggered migrations at once",
        ["Load (batches x images + tagged)", "Scale", "Migrations", "Succeeded", "Failed", "429s (app / tagging)",
         "Virtual time (min)", "Wall (s)", "Devhost CPU (s)", "Emulator CPU (s)"],
    )  # fmt: skip
    cpu = {p.name: p.cpu_seconds for p in result.processes}
    outcome.add(
        shape,
        load.scale,
        load.migrations,
        result.succeeded,
        load.migrations - result.succeeded,
        f"{result.throttled['app']} / {result.throttled['tagging']}",
        round(result.virtual_seconds / 60, 1),
        result.wall_seconds,
        round(cpu.get("devhost", 0.0), 1),
        round(cpu.get("emulator", 0.0), 1),
    )
    outcome.notes.append(
        "429s: answers of the emulator's token buckets (ARM's numbers times the scale) to the app's managed identity "
        "and to the benchmark's own tagging."
    )
    peaks = Table(
        "budget-peaks",
        "Peak requests per virtual minute against ARM's bucket (burst + a minute of refill)",
        ["Bucket", "Requests (all)", "Peak per virtual minute", "Allowed per minute", "Bucket (size, refill/s)"],
    )
    for kind, (size, rate) in load.buckets().items():
        peak = result.peak_per_minute[kind]
        peaks.add(kind, result.arm_requests.get(kind.rstrip("s"), 0), peak["requests"], peak["allowed"],
                  f"{size}, {rate:g}")  # fmt: skip
    peaks.notes.append(
        "Virtual time stands still while the host works, so a burst lands in one virtual minute: an upper bound of "
        "the rate Azure would see."
    )
    budget = result.budget
    entity = Table(
        "budget-entity",
        "The budget entity (one per subscription): grants, waits, poll leases",
        ["Grants", "Waited", "Longest wait (s)", "Mean wait (s)", "Granted reads / writes / deletes",
         "Accounted by clients (reads / writes)", "Poll leases granted / refused", "'waiting for ARM budget' seen"],
    )  # fmt: skip
    granted, accounted = budget.get("granted") or {}, budget.get("accounted") or {}
    waits = int(budget.get("waits") or 0)
    entity.add(
        int(budget.get("grants") or 0),
        waits,
        round(float(budget.get("longest_wait_seconds") or 0), 1),
        round(float(budget.get("waited_seconds") or 0) / waits, 1) if waits else 0.0,
        f"{granted.get('reads', 0)} / {granted.get('writes', 0)} / {granted.get('deletes', 0)}",
        f"{accounted.get('reads', 0)} / {accounted.get('writes', 0)}",
        f"{budget.get('leases_granted', 0)} / {budget.get('leases_refused', 0)}",
        "yes" if result.saw_waiting else "no",
    )
    return [outcome, peaks, entity]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.budget", description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--tagged", type=int, default=200)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--replication-seconds", type=int, default=600)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    load = MixedLoad(
        batches=args.batches,
        batch_size=args.batch_size,
        tagged=args.tagged,
        scale=args.scale,
        concurrency=args.concurrency,
        replication_seconds=args.replication_seconds,
    )
    console = Console()
    console.width = max(console.width, 160)
    started = time.perf_counter()
    result = run(load)
    made = tables(result)
    seconds = time.perf_counter() - started
    path = None if args.no_save else args.output
    results.publish(console, "budget", "bench.budget", argv, made, result.to_json(), seconds=seconds, path=path)
    for line in result.failed:
        console.print(f"[red]{line}[/red]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
