"""Drive ``migrate_batch`` through the devhost's pure replay engine in a scripted world, for what an end-to-end run
cannot aim at: which events one episode delivers, down to the episode in which the batch continues as new.

The world: an in-memory inventory of ``images`` images, the bookkeeping activities done in memory (every
``start_batch_items`` call recorded), items that end when the test says (their ``image-<q>`` event, with the data
encoded as the SDK's ``raise_event`` makes the host store it), and a host that hands every queued message to one
episode, as the real host does with what queued up while an instance was busy. ``continue_as_new`` starts the next
execution with the raised events still queued (events carry no execution ID); results and timers addressed to the
old execution are dropped, as the host drops them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost import bookkeeping, engine
from devhost import history as h
from devhost.engine import EngineState, Execution, Outcome
from migration.batch import done_event, item_instance_id
from migration.fleet import Candidate, ImageItem
from migration.inventory import build_inventory, queued_entries
from migration.settings import Settings
from tests.app_functions import functions
from tests.devhost.minihost import START, DictCatalog, handles_of
from tests.migration.factories import GALLERY_ID, SUB

BATCH_ID = "batch-" + "b" * 32
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-images"


class _App:
    @staticmethod
    def get_functions() -> list[Any]:
        return functions()


def history_bound(round_tasks: int, cap: int) -> int:
    """The most history events one round of a batch can hold, whatever the batch's size: a round ends once it has
    counted ``round_tasks`` (each activity 2, each wait the tasks it waits on, at least 1), so it has at most
    ``round_tasks / 2`` activities (4 events each: scheduled, completed, and the episode's start and end) and
    ``round_tasks`` waits (2 events each), and it hears from at most the items it waited on plus those running at
    its two ends (one event each); plus its start and the hourly timer's two."""
    return 5 * round_tasks + 2 * (cap + 2) + 10


def inventory(images: int, *, name_length: int = 8) -> dict[str, Any]:
    candidates = []
    for n in range(images):
        name = f"img-{n:05d}" + "x" * max(0, name_length - 9)
        item = ImageItem(id=f"{GROUP}/providers/Microsoft.Compute/images/{name}", name=name)
        candidates.append(Candidate(item=item, instance_id=f"mig-{name}-{n:016x}", request={}))
    return build_inventory(candidates, classified_at=START.isoformat())


def _sdk_event_data(value: Any) -> str:
    """``EventRaised.Input`` as stored for ``DurableOrchestrationClient.raise_event(value)``: the SDK posts
    ``json.dumps(value)`` as a JSON body, so the host stores that text as a JSON string."""
    return json.dumps(json.dumps(value))


@dataclass
class Episode:
    execution: int
    delivered: list[str]  # names of the events delivered (EventRaised by name, others by type)
    outcome: Outcome
    history_length: int


@dataclass
class BatchDriver:
    images: int
    cap: int
    round_tasks: int = 1000
    name_length: int = 8
    now: datetime = START
    starts: list[list[int]] = field(default_factory=list)  # q of each start_batch_items call
    start_episodes: list[int] = field(default_factory=list)  # the episode (index) that scheduled each of them
    cancels: list[list[str]] = field(default_factory=list)  # instance IDs of each cancel_migrations call
    ended_items: dict[int, dict[str, Any]] = field(default_factory=dict)  # what batch_item_states answers
    results: dict[int, dict[str, Any]] = field(default_factory=dict)  # what each ended item reported
    episodes: list[Episode] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    output: Any = None
    outcome: Outcome = Outcome.RUNNING

    def __post_init__(self) -> None:
        self.document = inventory(self.images, name_length=self.name_length)
        self.handle = handles_of(_App)["migrate_batch"]
        self.catalog = DictCatalog(
            ["read_inventory", "start_batch_items", "cancel_migrations", "batch_item_states"], ["fleet_inventory"]
        )
        settings = Settings.model_validate({"BATCH_ROUND_TASKS": self.round_tasks})
        data = {
            "fleet": {"scope": {"resourceGroups": [GROUP]}},
            "options": {"galleryId": GALLERY_ID},
            "settings": settings.model_dump(mode="json"),
            "maxConcurrency": self.cap,
        }
        self.executions: list[Execution] = []
        self.queue: list[dict[str, Any]] = []
        self.timers: list[h.HistoryEvent] = []
        self._begin(json.dumps(json.dumps(data)))

    # --- the world's moves ---------------------------------------------------------------------------------------
    @property
    def running(self) -> list[int]:
        """Items the batch started whose end the test has not delivered yet."""
        started = [q for call in self.starts for q in call]
        return [q for q in started if q not in self.delivered_ends]

    @property
    def delivered_ends(self) -> set[int]:
        return getattr(self, "_ends", set())

    def end(self, *qs: int, outcome: str = "succeeded", phase: str | None = "done") -> None:
        """Items ``qs`` end: their events queue up for the next episode."""
        ends = self.delivered_ends | set(qs)
        self._ends = ends
        for q in qs:
            self.results[q] = {"q": q, "outcome": outcome, "phase": phase}
            self.queue.append(h.new_event_raised(self.now, done_event(q), _sdk_event_data(self.results[q])))

    def raise_again(self, q: int) -> None:
        """A duplicate of item ``q``'s event: ``notify_batch`` ran twice, with the same input."""
        self.queue.append(h.new_event_raised(self.now, done_event(q), _sdk_event_data(self.results[q])))

    def cancel(self) -> None:
        self.queue.append(h.new_event_raised(self.now, "cancel", _sdk_event_data({"at": self.now.isoformat()})))

    def fire_timers(self) -> None:
        self.now += timedelta(hours=1)
        self.queue += self.timers
        self.timers = []

    # --- the host ------------------------------------------------------------------------------------------------
    def step(self) -> Episode:
        """One episode with every queued message (as many as the engine lets share an episode)."""
        assert self.queue, "nothing to deliver"
        execution = self.executions[-1]
        count = bookkeeping.select_batch(execution.state, self.queue)
        events, self.queue = self.queue[:count], self.queue[count:]
        result = engine.run_episode(self.handle, self.catalog, execution, events, self.now)
        execution.history.extend(result.appended)
        execution.state = result.state
        if result.custom_status:
            self.statuses.append(json.loads(result.custom_status))
        names = [e.get("Name") or h.EVENT_TYPE_NAMES[h.EventType(e["EventType"])] for e in events]
        episode = Episode(len(self.executions), names, result.outcome, len(execution.history))
        self.episodes.append(episode)
        if result.outcome is Outcome.CONTINUED_AS_NEW:
            self.queue = [e for e in self.queue if e["EventType"] == h.EventType.EVENT_RAISED]
            self.timers = []
            self._begin(json.dumps(result.output))
        elif result.outcome is not Outcome.RUNNING:
            self.outcome = result.outcome
            self.output = json.loads(result.output) if result.output else None
        else:
            for work in result.activities:
                self.queue.append(h.new_task_completed(self.now, work.task_id, json.dumps(self._activity(work))))
            for child in result.sub_orchestrations:
                done = h.new_sub_orchestration_completed(self.now, child.task_id, json.dumps(self.document))
                self.queue.append(done)
            self.timers = [t for t in self.timers if t["TimerId"] not in result.cancelled_timers]
            self.timers += [h.new_timer_fired(t.fire_at, t.timer_id, t.fire_at) for t in result.timers]
        return episode

    def settle(self) -> None:
        """Run episodes until the batch only waits for the world (or has ended)."""
        while self.queue and self.outcome is Outcome.RUNNING:
            self.step()

    def _begin(self, input_json: str) -> None:
        number = len(self.executions) + 1
        execution = Execution(BATCH_ID, "migrate_batch", f"e{number}", input_json, None, [], EngineState())
        self.executions.append(execution)
        self.queue.insert(
            0,
            h.new_execution_started(
                self.now, name="migrate_batch", instance_id=BATCH_ID, execution_id=f"e{number}", input_json=input_json
            ),
        )

    def _activity(self, work: bookkeeping.ActivityWork) -> Any:
        payload = json.loads(work.input or "null")
        if work.name == "read_inventory":
            return {"entries": queued_entries(self.document, payload["start"], payload["count"])}
        if work.name == "start_batch_items":
            qs = [item["entry"]["q"] for item in payload["items"]]
            self.starts.append(qs)
            self.start_episodes.append(len(self.episodes) - 1)
            return {"started": qs, "existing": []}
        if work.name == "cancel_migrations":
            self.cancels.append(list(payload["instanceIds"]))
            return {"canceled": payload["instanceIds"], "ended": [], "missing": []}
        if work.name == "batch_item_states":
            return {"ended": {str(q): self.ended_items[q] for q in payload["qs"] if q in self.ended_items}}
        raise AssertionError(f"unexpected activity {work.name}")

    @staticmethod
    def item(q: int) -> str:
        return item_instance_id(BATCH_ID, q)
