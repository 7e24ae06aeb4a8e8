"""Turn measurements into the tables (with goals met or the gap named) and the JSON results document."""

from __future__ import annotations

from collections.abc import Sequence

from bench.polling import CurveCase, PollingCase
from bench.scale import ScaleResult
from bench.tables import Cell, Table

HISTORY_GOAL = 150  # events, at 6 h
REQUEST_RATIO_GOAL = 0.2  # ours / baseline


def duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def verdict(ok: bool) -> str:
    return "met" if ok else "GAP"


def ratio(ours: int, theirs: int) -> float | None:
    return round(ours / theirs, 3) if theirs else None


def _s(seconds: float) -> float:
    return round(seconds, 1)


def _baseline_label(case: str) -> str:
    return {"sdk-default": "SDK poller, default 30 s", "interval-60s": "SDK poller, 60 s"}.get(case, case)


def polling_tables(cases: Sequence[PollingCase]) -> list[Table]:
    requests = Table(
        "polling",
        "Polling economy: ARM requests per migration and detection latency (two regions, westus2=1;eastus=1)",
        [
            "Replication",
            "Waiter",
            "Status reads while waiting",
            "All ARM requests",
            "Ours ÷ waiter (waiting)",
            "Ours ÷ waiter (all)",
            "Detection latency (s)",
        ],
        notes=[
            "Status reads while waiting: GETs from the version's submission up to the one that saw it complete "
            "(ours: GalleryImageVersions_Get with $expand=ReplicationStatus; SDK: operation-status polls).",
            "All ARM requests: ours = every request of the migration (trigger, preflight, definition, version, "
            "wait, validation, promotion, deletion, status tags); SDK = PUT, polls, final GET.",
            "Detection latency: virtual time from the version's terminal time (emulator) to that read.",
        ],
    )
    for case in cases:
        ours = case.ours.waiting
        label = duration(case.replication_seconds)
        requests.add(label, "ours", ours.waiting_reads, ours.total, None, None, _s(ours.latency_seconds))
        for base in case.baselines:
            theirs = base.waiting
            requests.add(
                duration(case.replication_seconds),
                _baseline_label(base.case),
                theirs.waiting_reads,
                theirs.total,
                ratio(ours.waiting_reads, theirs.waiting_reads),
                ratio(ours.total, theirs.total),
                _s(theirs.latency_seconds),
            )
    return [requests, operations_table(cases), polling_goals(cases)]


def curve_tables(curves: Sequence[CurveCase], linear: Sequence[PollingCase]) -> list[Table]:
    """Our wait on progress curves the predictor does not assume, beside the linear case of the same length."""
    table = Table(
        "curves",
        "Polling economy on replication progress curves (ours; two regions; the same 150.2 s queue)",
        [
            "Curve",
            "Copy time",
            "Status reads while waiting",
            "Reads ÷ SDK poller (30 s)",
            "Detection latency (s)",
            "Latency goal (s)",
            "Goal",
        ],
        notes=[
            "Curves (emulator/compute/curves.py): slow-start = cubic; stall-burst = linear to 30 %, stuck until 80 % "
            "of the time, then a burst; jump = 0 % until done; linear (fitted) = the emulator's Azure-fitted size "
            "model (150.2 s queue + 6.78 s/GiB per region, the benchmark image's size).",
            "Reads ÷ SDK poller: against the SDK's 30 s poller on the linear case of the same copy time, same run (its "
            "reads depend on the total time only).",
            "Latency goal: max(60 s, 5 % of the wait from submission to completion).",
        ],
    )
    pollers = {
        case.replication_seconds: base.waiting.waiting_reads
        for case in linear
        for base in case.baselines
        if base.case == "sdk-default"
    }
    for case in [*(CurveCase("linear", c.replication_seconds, c.ours) for c in linear), *curves]:
        waiting = case.ours.waiting
        poller = pollers.get(case.replication_seconds) if case.replication_seconds else None
        seconds = case.replication_seconds
        copy = duration(seconds) if seconds else f"fitted ({_s(case.total_seconds)} s)"
        table.add(
            case.curve,
            copy,
            waiting.waiting_reads,
            ratio(waiting.waiting_reads, poller) if poller else None,
            _s(waiting.latency_seconds),
            _s(case.latency_goal_seconds),
            "met" if waiting.latency_seconds <= case.latency_goal_seconds else "**missed**",
        )
    return [table]


def operations_table(cases: Sequence[PollingCase]) -> Table:
    columns: list[tuple[str, dict[str, int]]] = []
    for case in cases:
        columns.append((f"Ours {duration(case.replication_seconds)}", case.ours.waiting.requests))
    for name in dict.fromkeys(b.case for case in cases for b in case.baselines):
        for case in cases:
            for base in case.baselines:
                if base.case == name:
                    short = _baseline_label(name).replace("SDK poller, ", "SDK ")
                    columns.append((f"{short} {duration(case.replication_seconds)}", base.waiting.requests))
    operations = sorted({op for _, counts in columns for op in counts}, key=lambda op: (-columns[0][1].get(op, 0), op))
    table = Table(
        "polling-operations",
        "ARM requests by operation (whole run; ours = the app's managed identity, SDK = the user's)",
        ["Operation", *(label for label, _ in columns)],
    )
    for op in operations:
        table.add(op, *(counts.get(op, 0) for _, counts in columns))
    table.add("total", *(sum(counts.values()) for _, counts in columns))
    return table


def polling_goals(cases: Sequence[PollingCase]) -> Table:
    table = Table(
        "polling-goals",
        "Polling goals (issue 7): requests ≤ 1/5 of the baseline; detection latency ≤ max(60 s, 5 % of replication)",
        ["Goal", *(duration(c.replication_seconds) for c in cases)],
    )
    names = list(dict.fromkeys(b.case for case in cases for b in case.baselines))
    for name in names:
        for scope in ("waiting", "all"):
            row: list[Cell] = [f"requests ≤ 1/5 of {_baseline_label(name)} ({scope})"]
            for case in cases:
                base = next((b for b in case.baselines if b.case == name), None)
                if base is None:
                    row.append(None)
                    continue
                ours_n = case.ours.waiting.waiting_reads if scope == "waiting" else case.ours.waiting.total
                theirs_n = base.waiting.waiting_reads if scope == "waiting" else base.waiting.total
                value = ratio(ours_n, theirs_n) or 0.0
                row.append(f"{ours_n}/{theirs_n} = {value:.2f} {verdict(value <= REQUEST_RATIO_GOAL)}")
            table.add(*row)
    latency: list[Cell] = ["detection latency ≤ max(60 s, 5 %)"]
    for case in cases:
        seconds, goal = case.ours.waiting.latency_seconds, case.latency_goal_seconds
        latency.append(f"{seconds:.0f} s ≤ {goal:.0f} s {verdict(seconds <= goal)}")
    table.add(*latency)
    return table


def history_tables(cases: Sequence[PollingCase]) -> list[Table]:
    table = Table(
        "history",
        "Durable history per migration (devhost state)",
        ["Replication", "History events (whole migration)", "Largest history replayed", "Episodes", "≤ 150 at 6 h"],
        notes=["History events: every event appended to the instance's history over all its executions."],
    )
    for case in cases:
        ours = case.ours
        goal = verdict(ours.history_events <= HISTORY_GOAL) if case.replication_seconds == 21600 else None
        table.add(duration(case.replication_seconds), ours.history_events, ours.history_peak, ours.episodes, goal)
    return [table]


def replay_tables(cases: Sequence[PollingCase]) -> list[Table]:
    table = Table(
        "replay",
        "Replay cost per migration (devhost instrumentation)",
        ["Replication", "Episodes", "Replay CPU (ms)", "CPU per episode (ms, mean)", "Median episode (ms, wall)"],
        notes=[
            "Replay CPU: thread CPU time inside the Durable SDK's orchestrator handle, summed over the migration's "
            "episodes. Median episode: wall time of one episode (replay + commit), over this migration's episodes.",
        ],
    )
    for case in cases:
        ours = case.ours
        table.add(
            duration(case.replication_seconds),
            ours.episodes,
            round(ours.replay_cpu_seconds * 1000, 1),
            round(ours.replay_cpu_seconds * 1000 / max(1, ours.episodes), 2),
            round(ours.median_episode_seconds * 1000, 2),
        )
    return [table]


def scale_tables(results: Sequence[ScaleResult]) -> list[Table]:
    outcome = Table(
        "scale",
        "Scale: migrations of different images started at once (virtual clock, 1 h replication, two regions)",
        [
            "Scenario",
            "Migrations",
            "Succeeded",
            "One version per image",
            "Wall time (s)",
            "Devhost CPU (s)",
            "Devhost peak RSS (MiB)",
            "Emulator CPU (s)",
            "Emulator peak RSS (MiB)",
            "Replay CPU (s)",
            "Median episode (ms)",
        ],
        notes=[
            "CPU: user + system time of the process over the run (psutil). Peak RSS: max of 100 ms samples and "
            "Linux VmHWM."
        ],
    )
    load = Table(
        "scale-arm",
        "Scale: ARM load (the app's requests) vs ARM's per-subscription token buckets",
        [
            "Scenario",
            "ARM requests",
            "Reads / writes / deletes",
            "Peak reads per virtual min",
            "Peak writes per virtual min",
            "Peak replication polls per virtual min",
            "429s received (app / tagging)",
        ],
        notes=[
            "Budgets: reads 250-token bucket refilled at 25/s = 1,500/min; writes and deletes 200 refilled at 10/s = "
            "600/min (ARM throttling, per subscription per region). The emulator enforces these buckets (per "
            "principal, and 15 times that per subscription) and answers 429 + Retry-After when one is empty.",
            "Virtual time stands still while the host works, so a burst of work done at one virtual instant is "
            "counted in one virtual minute: an upper bound of the rate Azure would see.",
        ],
    )
    for result in results:
        usage = {u.name: u for u in result.processes}
        outcome.add(
            result.scenario,
            result.migrations,
            result.succeeded,
            result.images_with_one_version,
            result.wall_seconds,
            usage["devhost"].cpu_seconds,
            usage["devhost"].peak_rss_mib,
            usage["emulator"].cpu_seconds,
            usage["emulator"].peak_rss_mib,
            round(result.replay_cpu_seconds, 2),
            round(result.median_episode_seconds * 1000, 1),
        )
        buckets, peaks = result.arm_requests_by_bucket, result.peak_per_minute
        load.add(
            result.scenario,
            result.arm_requests,
            f"{buckets.get('read', 0):,} / {buckets.get('write', 0):,} / {buckets.get('delete', 0):,}",
            f"{peaks['read']['requests']:,} of {peaks['read']['budget']:,}",
            f"{peaks['write']['requests']:,} of {peaks['write']['budget']:,}",
            f"{peaks['replication-polls']['requests']:,} of {peaks['read']['budget']:,}",
            f"{result.throttled['app']:,} / {result.throttled['tagging']:,}",
        )
    return [outcome, load, scale_goals(results)]


def scale_goals(results: Sequence[ScaleResult]) -> Table:
    table = Table("scale-goals", "Scale goals (issue 7)", ["Goal", *(r.scenario for r in results)])
    table.add(
        "all succeed, none duplicated (one instance and one version per image)",
        *(
            f"{r.succeeded}/{r.migrations} succeeded, {r.images_with_one_version} with one version, "
            f"{r.versions} versions {verdict(r.all_succeeded_once)}"
            for r in results
        ),
    )
    table.add(
        "peak reads per virtual minute below ARM's read budget (1,500/min)",
        *(
            f"{r.peak_per_minute['read']['requests']:,} at {r.peak_per_minute['read']['minute']} "
            f"{verdict(r.peak_per_minute['read']['requests'] < r.peak_per_minute['read']['budget'])}"
            for r in results
        ),
    )
    table.add(
        "no 429 from ARM's token buckets (the emulator throttles with Azure's numbers)",
        *(f"{r.throttled['app']} received by the app {verdict(r.throttled['app'] == 0)}" for r in results),
    )
    return table
