"""Scale: many migrations of different images started at once, on a fresh emulator + devhost (virtual clock).

Each scenario is one row of the scale table and says only how the migrations are started; the runner seeds the
images, measures the server processes while the scenario starts them and until every migration has an outcome,
then reads the outcome of each, the versions the emulator holds, the request log and the devhost stats.

``tag-trigger``: the images are tagged through the Tags API from 16 threads while the devhost holds its
virtual clock, so every migration starts at the same virtual instant (the worst case for the request rate);
the clock is released once every migration exists. A scenario that starts them another way (for example a
batch over a scope, issue 9) is one more ``ScaleScenario`` in ``SCENARIOS``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from bench import requestlog as log
from bench.procstats import ProcessMonitor, ProcessUsage
from bench.world import (
    APP_CLIENT_ID,
    bench_stack,
    gallery,
    image,
    image_id,
    replication_takes,
    seed,
    start_by_tag,
    wait_until,
)
from devhost.client import TERMINAL
from localrun.stack import LocalStack

logger = logging.getLogger(__name__)

MIGRATIONS = 200
QUICK_MIGRATIONS = 20
REPLICATION_SECONDS = 3600
TAGGING_THREADS = 16
TIMEOUT_SECONDS = 900.0

# ARM's per-subscription token buckets (regional throttling, 2024 onwards): bucket size and refill per second.
# Source: learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
ARM_BUCKETS = {"read": (250, 25), "write": (200, 10), "delete": (200, 10)}


def budget_per_minute(bucket: str) -> int:
    """The sustained rate a bucket allows: its refill rate over a minute."""
    return ARM_BUCKETS[bucket][1] * 60


Starter = Callable[[LocalStack, Sequence[str]], None]


@dataclass(frozen=True)
class ScaleScenario:
    name: str
    description: str
    start: Starter
    finish: Callable[[LocalStack], None] | None = None  # once every migration ended, before the stack stops


def start_all_by_tag(stack: LocalStack, images: Sequence[str]) -> None:
    stack.host.clock(auto_advance=False)
    with ThreadPoolExecutor(TAGGING_THREADS) as pool:
        instance_ids = list(pool.map(lambda source: start_by_tag(stack, source), images))
    wanted = set(instance_ids)
    wait_until(
        lambda: wanted <= set(stack.host.stats("mig-")["instances"]),
        timeout=TIMEOUT_SECONDS,
        what=f"all {len(wanted)} migrations started by the tag trigger",
    )


SCENARIOS = (
    ScaleScenario(
        "tag-trigger",
        "tagged through the Tags API at once; the Event Grid trigger starts one migration per image",
        start_all_by_tag,
    ),
)


@dataclass
class ScaleResult:
    scenario: str
    description: str
    migrations: int
    replication_seconds: int
    wall_seconds: float
    processes: list[ProcessUsage]
    succeeded: int
    outcomes: dict[str, int]
    instances: int
    versions: int
    images_with_one_version: int
    arm_requests: int  # the app's (managed identity) requests
    arm_requests_by_bucket: dict[str, int]
    user_requests: int  # the benchmark's own tagging
    throttled: dict[str, int]  # 429s received (ARM's token buckets, on with Azure's numbers): app, tagging
    peak_per_minute: dict[str, dict[str, Any]]  # bucket (or "replication-polls") -> {minute, requests, budget}
    episodes: int
    replay_cpu_seconds: float
    median_episode_seconds: float
    event_deliveries: int

    @property
    def all_succeeded_once(self) -> bool:
        return (
            self.succeeded == self.migrations
            and self.instances == self.migrations
            and self.images_with_one_version == self.migrations
            and self.versions == self.migrations
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "allSucceededOnce": self.all_succeeded_once}


def run_scenario(
    scenario: ScaleScenario, migrations: int, *, replication_seconds: int = REPLICATION_SECONDS
) -> ScaleResult:
    names = [f"scale-{number:04d}" for number in range(migrations)]
    images = [image_id(name) for name in names]
    with bench_stack() as stack:
        seed(stack, gallery(), *(image(name) for name in names))
        replication_takes(stack, replication_seconds)
        first_seq = int(stack.arm.request_summary()["lastSeq"])
        assert stack.devhost_process is not None
        assert stack.emulator_process is not None
        pids = {"devhost": stack.devhost_process.pid, "emulator": stack.emulator_process.pid}
        with ProcessMonitor(pids) as monitor:
            scenario.start(stack, images)
            stack.host.clock(auto_advance=True)
            wait_until(
                lambda: _finished(stack, migrations), timeout=TIMEOUT_SECONDS, interval=0.5, what="every outcome"
            )
            if scenario.finish is not None:
                scenario.finish(stack)
        logger.info("%s: %d migrations finished in %.1f s", scenario.name, migrations, monitor.wall_seconds)
        return _collect(stack, scenario, images, first_seq, monitor, replication_seconds)


def _finished(stack: LocalStack, expected: int) -> bool:
    rows = stack.host.stats("mig-")["instances"].values()
    return sum(1 for row in rows if row["runtimeStatus"] in TERMINAL) >= expected


def _collect(
    stack: LocalStack,
    scenario: ScaleScenario,
    images: Sequence[str],
    first_seq: int,
    monitor: ProcessMonitor,
    replication_seconds: int,
) -> ScaleResult:
    statuses = stack.host.list_instances(instanceIdPrefix="mig-")
    outcomes = Counter(str((s.get("output") or {}).get("outcome", s["runtimeStatus"])) for s in statuses)
    wanted = {source.lower() for source in images}
    per_image = Counter(
        str(record["meta"].get("sourceId", "")).lower()
        for record in stack.arm.resources("Microsoft.Compute/galleries/images/versions")
    )
    entries = stack.arm.requests(since=first_seq)
    app = log.of_client(entries, APP_CLIENT_ID)
    peaks = {}
    for bucket in ARM_BUCKETS:
        minute, count = log.peak_per_minute(app, bucket=bucket)
        peaks[bucket] = {"minute": minute, "requests": count, "budget": budget_per_minute(bucket)}
    minute, count = log.peak_per_minute([e for e in app if log.is_replication_read(e)])
    peaks["replication-polls"] = {"minute": minute, "requests": count, "budget": budget_per_minute("read")}
    stats = stack.host.stats("mig-")
    return ScaleResult(
        scenario=scenario.name,
        description=scenario.description,
        migrations=len(images),
        replication_seconds=replication_seconds,
        wall_seconds=round(monitor.wall_seconds, 1),
        processes=monitor.usage(),
        succeeded=outcomes.get("succeeded", 0),
        outcomes=dict(outcomes),
        instances=len(statuses),
        versions=sum(per_image.values()),
        images_with_one_version=sum(1 for source in wanted if per_image.get(source) == 1),
        arm_requests=len(app),
        arm_requests_by_bucket=dict(Counter(log.arm_bucket(str(e["method"])) for e in app)),
        user_requests=len(entries) - len(app),
        throttled={"app": log.throttled(app), "tagging": log.throttled(entries) - log.throttled(app)},
        peak_per_minute=peaks,
        episodes=int(stats["episodes"]),
        replay_cpu_seconds=float(stats["replayCpuSeconds"]),
        median_episode_seconds=float(stats["medianEpisodeSeconds"]),
        event_deliveries=len(stack.arm.deliveries()),
    )


def run(migrations: int, *, scenarios: Sequence[ScaleScenario] = SCENARIOS) -> list[ScaleResult]:
    return [run_scenario(scenario, migrations) for scenario in scenarios]
