"""Step primitives every orchestrator here uses: call an activity with durable retries, sleep on a durable
timer, both optionally raced against a ``cancel`` event. Generators to ``yield from``; time only from the context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from migration.errors import Canceled, error_from_failure
from migration.settings import Settings
from orchestrators.episodes import completion_index, raised_by_episode_end, raised_in_first_episode

Steps = Generator[Any, Any, Any]

CANCEL_EVENT = "cancel"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


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
) -> Steps:
    """Run an activity; retry transient failures (throttling, 5xx that outlived the SDK's own retries) on durable
    timers; raise the domain error otherwise.

    With ``cancel``, a cancel that already arrived stops before the step (for an ``irreversible`` step, also one
    delivered in the same episode and not applied yet), and one arriving during it wins the race: the in-flight
    step is still awaited, so what the caller reports is what exists, and its result travels on the
    :class:`Canceled` error as ``landed``. ``cancellable=False``: bookkeeping that runs to its end regardless."""
    attempts = settings.transient_retry_attempts
    watching = cancel is not None and cancellable
    for attempt in range(attempts + 1):
        if watching and cancel is not None and (cancel.pending() if irreversible else cancel.arrived):
            raise Canceled("canceled by request")
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
