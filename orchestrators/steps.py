"""Step primitives every orchestrator here uses: ask the ARM budget for a step's requests, call an activity with
durable retries, sleep on a durable timer, all optionally raced against a ``cancel`` event. Generators to
``yield from``; time only from the context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Mapping
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from migration.budget import BUDGET_ENTITY, GRANT_TOLERANCE, WAITING, Counts, instant, parse_instant
from migration.errors import Canceled, error_from_failure
from migration.settings import Settings
from orchestrators.episodes import completion_index, raised_by_episode_end, raised_in_first_episode

Steps = Generator[Any, Any, Any]

CANCEL_EVENT = "cancel"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def budget_entity(subscription: str) -> df.EntityId:
    """The ARM budget of one subscription (``entities/arm_budget.py``)."""
    return df.EntityId(BUDGET_ENTITY, subscription.lower())


class Cancellation:
    """The ``cancel`` event of one orchestration, and the task whose completion last resumed it.

    ``arrived``: the SDK has applied a cancel. ``pending``: also one delivered later in the same episode, which
    the SDK has not applied yet (see :mod:`orchestrators.episodes`); asked before every irreversible write."""

    def __init__(self, context: df.DurableOrchestrationContext, name: str = CANCEL_EVENT) -> None:
        self.ctx = context
        self.name = name
        self.task = context.wait_for_external_event(name)
        self.resumed_by: Any = None

    @property
    def arrived(self) -> bool:
        return bool(self.task.is_completed)

    def pending(self) -> bool:
        if self.arrived:
            return True
        if self.resumed_by is None:  # nothing has resumed us: this is the episode that started the execution
            return raised_in_first_episode(self.ctx, self.name)
        return raised_by_episode_end(self.ctx, self.resumed_by, self.name)

    def resumed(self, task: Any) -> None:
        """``task`` resumed us. A task that had completed earlier (a wait that resolved at once) does not move us back:
        the latest completion is where we are in the history."""
        if self.resumed_by is None:
            self.resumed_by = task
            return
        new, old = completion_index(self.ctx, task), completion_index(self.ctx, self.resumed_by)
        if new is not None and (old is None or new > old):
            self.resumed_by = task

    def race(self, task: Any) -> Steps:
        """Wait for ``task`` or the cancel; the winner, remembered as what resumed us."""
        winner = yield self.ctx.task_any([task, self.task])
        self.resumed_by = winner
        return winner

    def wait(self, task: Any) -> Steps:
        """Wait for ``task`` alone (bookkeeping a cancel must not interrupt), remembered as what resumed us."""
        self.resumed_by = task
        return (yield task)


def acquire(
    context: df.DurableOrchestrationContext,
    needs: Mapping[str, Counts],
    *,
    cancel: Cancellation | None = None,
    on_wait: Callable[[str], None] | None = None,
    lease_on: str | None = None,
    release_on: str | None = None,
) -> Steps:
    """Ask the ARM budget of each subscription for ``needs`` and wait, on a durable timer, until every grant is due.

    ``lease_on``: also ask that subscription for a poll lease (replication reads then need no grant each);
    ``release_on``: give back the lease held there. Returns whether a lease is held on ``lease_on``. One entity call
    per subscription (four history events); the wait, if any, is visible through ``on_wait`` (``waiting for ARM
    budget until ...``), and a cancel ends it. A budget that cannot answer (a bug) never stops the step."""
    now = context.current_utc_datetime
    due, leased = now, False
    needs = {subscription.lower(): counts for subscription, counts in needs.items()}
    lease_on, release_on = (s.lower() if s else None for s in (lease_on, release_on))
    subscriptions = sorted({*needs, *(s for s in (lease_on, release_on) if s)})
    for subscription in subscriptions:
        ask = {
            "at": instant(now),
            "need": needs.get(subscription, Counts()).model_dump(),
            "holder": context.instance_id,
            "lease": subscription == lease_on,
            "release": subscription == release_on,
        }
        task = context.call_entity(budget_entity(subscription), "acquire", ask)
        try:
            answer = (yield from cancel.wait(task)) if cancel is not None else (yield task)
            due = max(due, parse_instant(str(answer["at"])))
            leased = leased or (subscription == lease_on and bool(answer.get("lease")))
        except Exception:  # noqa: S112 - the budget is a courtesy to ARM, never a reason to fail a migration
            continue
    if due - now > GRANT_TOLERANCE:
        if on_wait is not None:
            on_wait(f"{WAITING} until {iso(due)}")
        yield from sleep_until(context, due, cancel=cancel)
        if on_wait is not None:
            on_wait("")
    return leased


def call(
    context: df.DurableOrchestrationContext,
    name: str,
    payload: dict[str, Any],
    settings: Settings,
    *,
    cancel: Cancellation | None = None,
    cancellable: bool = True,
    irreversible: bool = False,
    on_retry: Callable[[str], None] | None = None,
    need: Mapping[str, Counts] | None = None,
    prepaid: bool = False,
) -> Steps:
    """Run an activity; retry transient failures (throttling, 5xx that outlived the SDK's own retries) on durable
    timers; raise the domain error otherwise.

    With ``cancel``, a cancel that already arrived stops before the step (for an ``irreversible`` step, also one
    delivered in the same episode and not applied yet), and one arriving during it wins the race: the in-flight
    step is still awaited, so what the caller reports is what exists, and its result travels on the
    :class:`Canceled` error as ``landed``. ``cancellable=False``: bookkeeping that runs to its end regardless.

    ``need``: the step's ARM requests, asked of the budget before every attempt (before every retry only when
    ``prepaid``: an earlier, coarser grant covered the first)."""
    attempts = settings.transient_retry_attempts
    watching = cancel is not None and cancellable
    for attempt in range(attempts + 1):
        if watching and cancel is not None and (cancel.pending() if irreversible else cancel.arrived):
            raise Canceled("canceled by request")
        if need and (attempt or not prepaid):
            yield from acquire(context, need, cancel=cancel if watching else None, on_wait=on_retry)
        task = context.call_activity(name, payload)
        if watching and cancel is not None:
            winner = yield from cancel.race(task)
            if winner is cancel.task:
                landed = None
                with contextlib.suppress(Exception):  # its failure no longer matters: we are stopping
                    landed = yield task
                raise Canceled("canceled by request", landed=landed)
        try:
            return (yield from cancel.wait(task)) if cancel is not None else (yield task)
        except Exception as exc:
            error = error_from_failure(exc)
            if not error.retryable or attempt == attempts:
                raise error from None
        delay = settings.transient_retry_delay_seconds * 2**attempt
        if on_retry is not None:
            on_retry(f"{name} failed transiently; retry {attempt + 1} of {attempts} in {delay} s")
        fire_at = context.current_utc_datetime + timedelta(seconds=delay)
        yield from sleep_until(context, fire_at, cancel=cancel if watching else None)
    raise AssertionError("unreachable")  # pragma: no cover


def sleep_until(
    context: df.DurableOrchestrationContext, fire_at: datetime, *, cancel: Cancellation | None = None
) -> Steps:
    timer = context.create_timer(fire_at)
    if cancel is None:
        yield timer
        return
    winner = yield from cancel.race(timer)
    if winner is cancel.task:
        timer.cancel()
        raise Canceled("canceled by request")
