"""Counters for ``GET /_devhost/stats``: what the benchmarks and batch tests read. Cheap to keep and to serve.

Host counters live in memory (since this process started); per-instance figures (episodes, replay CPU,
history sizes, peak running sub-orchestrations) are columns of the instance row, updated in the episode's
transaction, so they survive a restart and are part of the durable state.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from devhost.store import Store


@dataclass
class Stats:
    episodes: int = 0
    replay_cpu_seconds: float = 0.0
    episode_seconds: list[float] = field(default_factory=list)
    activity_executions: int = 0
    activity_failures: int = 0
    running_activities: int = 0
    peak_concurrent_activities: int = 0
    function_executions: int = 0
    clock_advances: int = 0
    entity_batches: int = 0
    entity_operations: int = 0

    def reset(self) -> None:
        """Start the host counters afresh (``/_devhost/reset``), so a test reads only its own figures; activities
        still running stay counted, and the peak starts from them."""
        running = self.running_activities
        for name, value in Stats().__dict__.items():
            setattr(self, name, value)
        self.running_activities = self.peak_concurrent_activities = running

    def record_episode(self, cpu_seconds: float, wall_seconds: float) -> None:
        self.episodes += 1
        self.replay_cpu_seconds += cpu_seconds
        self.episode_seconds.append(wall_seconds)

    def activity_started(self) -> None:
        self.running_activities += 1
        self.peak_concurrent_activities = max(self.peak_concurrent_activities, self.running_activities)

    def activity_finished(self, *, failed: bool) -> None:
        self.running_activities -= 1
        self.activity_executions += 1
        self.activity_failures += int(failed)

    def to_json(self, store: Store, *, prefix: str = "") -> dict[str, Any]:
        rows = store.db.execute(
            "SELECT instance_id, name, runtime_status, episodes, replay_cpu, history_len, history_total,"
            " history_peak, peak_children FROM instances WHERE instance_id >= ? AND instance_id < ?"
            " ORDER BY instance_id",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        instances = {
            row["instance_id"]: {
                "name": row["name"],
                "runtimeStatus": row["runtime_status"],
                "episodes": row["episodes"],
                "replayCpuSeconds": round(row["replay_cpu"], 6),
                "historyEvents": row["history_len"],
                "historyEventsTotal": row["history_total"],
                "historyEventsPeak": row["history_peak"],
                "peakRunningSubOrchestrations": row["peak_children"],
            }
            for row in rows
        }
        median = statistics.median(self.episode_seconds) if self.episode_seconds else 0.0
        return {
            "episodes": self.episodes,
            "replayCpuSeconds": round(self.replay_cpu_seconds, 6),
            "medianEpisodeSeconds": round(median, 6),
            "activityExecutions": self.activity_executions,
            "activityFailures": self.activity_failures,
            "runningActivities": self.running_activities,
            "peakConcurrentActivities": self.peak_concurrent_activities,
            "functionExecutions": self.function_executions,
            "clockAdvances": self.clock_advances,
            "entityBatches": self.entity_batches,
            "entityOperations": self.entity_operations,
            "entities": {
                e.instance_id: {"batches": e.batches, "operations": e.operations, "exists": e.entity_exists}
                for e in store.entity_rows()
                if e.instance_id.startswith(prefix)
            },
            "pendingActivityItems": store.activity_count(),
            "instances": instances,
        }
