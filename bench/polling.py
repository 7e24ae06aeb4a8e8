"""One replication time, measured end to end: our migration, then the SDK poller on an equivalent version.

Each case gets a fresh emulator + devhost (so the devhost's host-wide figures, such as the median episode time,
belong to this migration alone). Sequence:

1. seed a gallery, the image to migrate, and a second image with its own definition for the baseline;
2. replication takes ``queuedSeconds`` (the emulator's Azure-fitted 150.2 s) + ``R`` seconds per region
   (``replication.fixedSeconds``);
3. tag the image through the Tags API; the Event Grid trigger starts the migration; wait for its outcome;
4. read the request log (the app's managed identity only), the version's ``terminalAt`` and the devhost stats;
5. create an equivalent version (same publishing profile, other source) with the SDK and wait in ``.result()``,
   once per baseline case, reading the request log (the user's identity only) the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bench import requestlog as log
from bench.baseline import BASELINE_CASES, BaselineCase, BaselineRun, wait_with_sdk_poller
from bench.world import (
    APP_CLIENT_ID,
    SUB,
    USER_CLIENT_ID,
    baseline_source,
    bench_stack,
    gallery,
    image,
    image_id,
    replication_takes,
    seed,
    start_by_tag,
    version_record,
    wait_terminal,
)
from emulator.compute.curves import CURVES
from localrun.stack import LocalStack

logger = logging.getLogger(__name__)

REPLICATION_SECONDS = (600, 3600, 21600)  # 10 min, 1 h, 6 h
QUICK_REPLICATION_SECONDS = (600,)
OURS, THEIRS = "bench-ours", "bench-sdk"


@dataclass
class Waiting:
    """How a waiter spent requests and noticed completion."""

    requests: dict[str, int]  # every request of the run, by operationId
    total: int
    waiting_reads: int  # status reads from submission up to the one that saw completion
    submitted_at: str  # virtual time of the version's creation (the start of the wait)
    terminal_at: str  # the emulator's terminal time of the version
    detected_at: str  # virtual time of the read that saw it
    latency_seconds: float

    @classmethod
    def measure(
        cls, entries: list[log.Entry], polls: list[log.Entry], submitted: log.Entry, terminal_at: datetime
    ) -> Waiting:
        detected = log.first_at_or_after(polls, terminal_at)
        if detected is None:
            raise LookupError(f"no status read at or after the terminal time {terminal_at.isoformat()}")
        return cls(
            requests=log.by_operation(entries),
            total=len(entries),
            waiting_reads=len(log.waiting_reads(polls, submitted, detected)),
            submitted_at=log.virtual_time(submitted).isoformat(),
            terminal_at=terminal_at.isoformat(),
            detected_at=log.virtual_time(detected).isoformat(),
            latency_seconds=round((log.virtual_time(detected) - terminal_at).total_seconds(), 3),
        )


@dataclass
class OurMigration:
    instance_id: str
    version_id: str
    outcome: str
    waiting: Waiting
    history_events: int  # events appended over the whole migration (all executions)
    history_peak: int  # largest history replayed in one episode
    episodes: int
    replay_cpu_seconds: float
    median_episode_seconds: float
    virtual_seconds: float  # started -> finished, as the orchestrator saw it
    wall_seconds: float


@dataclass
class BaselineResult:
    case: str
    description: str
    waiting: Waiting
    poll_intervals: list[float]  # distinct sleeps the poller chose


@dataclass
class PollingCase:
    replication_seconds: int
    ours: OurMigration
    baselines: list[BaselineResult] = field(default_factory=list)

    @property
    def latency_goal_seconds(self) -> float:
        return max(60.0, 0.05 * self.replication_seconds)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "latencyGoalSeconds": self.latency_goal_seconds}


def run_ours(stack: LocalStack) -> OurMigration:
    first_seq = int(stack.arm.request_summary()["lastSeq"])
    started = time.perf_counter()
    instance_id = start_by_tag(stack, image_id(OURS))
    status = wait_terminal(stack, instance_id)
    wall = time.perf_counter() - started
    output = status["output"]
    if output.get("outcome") != "succeeded":
        raise RuntimeError(f"the benchmark migration did not succeed: {output}\n{stack.logs()}")
    version_id = str(output["versionId"])
    entries = log.of_client(stack.arm.requests(since=first_seq), APP_CLIENT_ID)
    waiting = Waiting.measure(
        entries,
        log.replication_reads(entries, version_id),
        log.submission(entries, version_id),
        terminal_at(stack, version_id),
    )
    stats = stack.host.stats(instance_id)
    mine = stats["instances"][instance_id]
    return OurMigration(
        instance_id=instance_id,
        version_id=version_id,
        outcome=str(output["outcome"]),
        waiting=waiting,
        history_events=int(mine["historyEventsTotal"]),
        history_peak=int(mine["historyEventsPeak"]),
        episodes=int(mine["episodes"]),
        replay_cpu_seconds=float(mine["replayCpuSeconds"]),
        median_episode_seconds=float(stats["medianEpisodeSeconds"]),
        virtual_seconds=(log.parse_time(output["finishedAt"]) - log.parse_time(output["startedAt"])).total_seconds(),
        wall_seconds=round(wall, 3),
    )


def run_baseline(stack: LocalStack, case: BaselineCase, *, our_version_id: str, name: str) -> BaselineResult:
    """The SDK poller on a version equivalent to ours: same publishing profile, the baseline image as source."""
    ours = version_record(stack, our_version_id)["body"]
    publishing = {k: v for k, v in ours["properties"]["publishingProfile"].items() if k != "publishedDate"}
    body = {
        "location": ours["location"],
        "properties": {"publishingProfile": publishing, "storageProfile": {"source": {"id": image_id(THEIRS)}}},
    }
    version_id = our_version_id.rsplit("/images/", 1)[0] + f"/images/{THEIRS}/versions/{name}"
    run: BaselineRun = wait_with_sdk_poller(stack, case, subscription_id=SUB, version_id=version_id, body=body)
    entries = log.of_client(stack.arm.requests(since=run.first_seq), USER_CLIENT_ID)
    polls = [e for e in entries if e.get("operationId") == "GalleryOperations_Get"]
    waiting = Waiting.measure(entries, polls, log.submission(entries, version_id), terminal_at(stack, version_id))
    return BaselineResult(
        case=case.name, description=case.description, waiting=waiting, poll_intervals=sorted(set(run.sleeps))
    )


def run_case(replication_seconds: int, *, baselines: Sequence[BaselineCase] = BASELINE_CASES) -> PollingCase:
    with bench_stack() as stack:
        seed(stack, gallery(), image(OURS), *baseline_source(THEIRS))
        replication_takes(stack, replication_seconds)
        ours = run_ours(stack)
        case = PollingCase(replication_seconds=replication_seconds, ours=ours)
        for number, baseline in enumerate(baselines, start=1):
            case.baselines.append(run_baseline(stack, baseline, our_version_id=ours.version_id, name=f"{number}.0.0"))
        logger.info("replication %d s: ours %d polls", replication_seconds, ours.waiting.waiting_reads)
        return case


def run_cases(
    replication_times: Sequence[int], *, baselines: Sequence[BaselineCase] = BASELINE_CASES
) -> list[PollingCase]:
    return [run_case(seconds, baselines=baselines) for seconds in replication_times]


@dataclass
class CurveCase:
    """Our migration on one progress curve (emulator/compute/curves.py); ``replication_seconds`` None: the copy time
    of the emulator's Azure-fitted size model (no fixed time)."""

    curve: str
    replication_seconds: int | None
    ours: OurMigration

    @property
    def total_seconds(self) -> float:
        return _wait_seconds(self.ours)

    @property
    def latency_goal_seconds(self) -> float:
        return max(60.0, 0.05 * self.total_seconds)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "totalSeconds": self.total_seconds, "latencyGoalSeconds": self.latency_goal_seconds}


def _wait_seconds(ours: OurMigration) -> float:
    """From the version's submission to its terminal time (queue included), as the emulator recorded them."""
    return (log.parse_time(ours.waiting.terminal_at) - log.parse_time(ours.waiting.submitted_at)).total_seconds()


# The curves the predictor does not assume, at each replication time; the fitted model at its own time.
CURVE_CASES: tuple[tuple[str, int | None], ...] = (
    *((curve, seconds) for curve in CURVES if curve != "linear" for seconds in REPLICATION_SECONDS),
    ("linear", None),
)
QUICK_CURVE_CASES: tuple[tuple[str, int | None], ...] = tuple((c, 600) for c in CURVES if c != "linear")


def run_curve_cases(cases: Sequence[tuple[str, int | None]]) -> list[CurveCase]:
    """Our migration once per (curve, replication time), on one stack reset between cases (no baseline: the SDK
    poller's reads depend on the total time only, measured by the linear cases of the same run)."""
    done: list[CurveCase] = []
    with bench_stack() as stack:
        for curve, seconds in cases:
            stack.arm.reset(reseed=False)
            stack.host.reset()
            stack.subscribe()
            seed(stack, gallery(), image(OURS))
            timings: dict[str, Any] = {"curve": curve}
            if seconds is not None:
                timings["fixedSeconds"] = seconds
            stack.arm.configure({"replication": timings})
            done.append(CurveCase(curve=curve, replication_seconds=seconds, ours=run_ours(stack)))
            logger.info("curve %s, %s s: ours %d polls", curve, seconds, done[-1].ours.waiting.waiting_reads)
    return done


def terminal_at(stack: LocalStack, version_id: str) -> datetime:
    meta = version_record(stack, version_id)["meta"]
    if not meta.get("terminalAt"):
        raise LookupError(f"{version_id} has no terminal time yet")
    return log.parse_time(str(meta["terminalAt"]))
