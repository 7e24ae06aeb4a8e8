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

Steps = Generator[Any, Any, Any]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(
    context: df.DurableOrchestrationContext,
    name: str,
    payload: dict[str, Any],
    settings: Settings,
    *,
    cancel: Any = None,
    on_retry: Callable[[str], None] | None = None,
) -> Steps:
    """Run an activity; retry transient failures (throttling, 5xx that outlived the SDK's retries) on durable
    timers; raise the domain error otherwise.

    With ``cancel`` (a ``wait_for_external_event`` task), a cancel that already arrived stops before the step,
    and one arriving during it wins the race: the in-flight step is still awaited, so what the caller reports is
    what exists, and its result travels on the :class:`Canceled` error as ``landed``."""
    attempts = settings.transient_retry_attempts
    for attempt in range(attempts + 1):
        if cancel is not None and cancel.is_completed:
            raise Canceled("canceled by request")
        task = context.call_activity(name, payload)
        if cancel is not None:
            winner = yield context.task_any([task, cancel])
            if winner is cancel:
                landed = None
                with contextlib.suppress(Exception):  # its failure no longer matters: we are stopping
                    landed = yield task
                raise Canceled("canceled by request", landed=landed)
        try:
            return (yield task)
        except Exception as exc:
            error = error_from_failure(exc)
            if not error.retryable or attempt == attempts:
                raise error from None
        delay = settings.transient_retry_delay_seconds * 2**attempt
        if on_retry is not None:
            on_retry(f"{name} failed transiently; retry {attempt + 1} of {attempts} in {delay} s")
        yield from sleep_until(context, context.current_utc_datetime + timedelta(seconds=delay), cancel=cancel)
    raise AssertionError("unreachable")  # pragma: no cover


def sleep_until(context: df.DurableOrchestrationContext, fire_at: datetime, *, cancel: Any = None) -> Steps:
    timer = context.create_timer(fire_at)
    if cancel is None:
        yield timer
        return
    winner = yield context.task_any([timer, cancel])
    if winner is cancel:
        timer.cancel()
        raise Canceled("canceled by request")
