"""``arm_budget``: one durable entity per subscription (its key) holding the app's share of ARM's token buckets.

Why an entity: it is the Durable primitive for state that many orchestrations and clients update one operation at a
time (Microsoft Learn, "Entity functions": operations on one entity run serially, messages are delivered reliably
and in order), so grants never race, and an orchestration waits for its grant on a durable timer. Operations
(the decisions are :mod:`migration.budget`'s; times are the caller's, the entity never reads a clock):

- ``acquire`` ``{at, need: {reads, writes, deletes}, holder, lease, release}`` -> ``{at, lease}``: when the step
  may run (now or later) and whether ``holder`` holds a poll lease (orchestrations, via ``call_entity``);
- ``account`` ``{at, used}``: what a client function spent (the Event Grid trigger, the HTTP API; ``signal_entity``);
- ``release`` ``{holder}``: give back a poll lease (``signal_entity``).

The state is :class:`migration.budget.BudgetState` as JSON; ``read_entity_state`` shows it (lanes, leases, stats).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from migration.budget import (
    BUDGET_ENTITY,
    BudgetSpec,
    BudgetState,
    Counts,
    account,
    acquire,
    instant,
    parse_instant,
    release_lease,
)
from migration.settings import Settings

bp = df.Blueprint()


@functools.cache
def spec() -> BudgetSpec:
    return BudgetSpec.from_settings(Settings.from_env(os.environ))


def moment(value: Any) -> datetime:
    return parse_instant(str(value)) if value else datetime.now(UTC)


@bp.entity_trigger(context_name="context", entity_name=BUDGET_ENTITY)
def arm_budget(context: df.DurableEntityContext) -> None:
    saved = context.get_state(lambda: None)
    state = BudgetState.model_validate(saved) if saved else BudgetState()
    data = context.get_input() or {}
    operation = context.operation_name
    if operation == "acquire":
        state, grant = acquire(
            state,
            spec(),
            now=moment(data.get("at")),
            need=Counts.model_validate(data.get("need") or {}),
            holder=str(data.get("holder") or ""),
            lease=bool(data.get("lease")),
            release=bool(data.get("release")),
        )
        context.set_result({"at": instant(grant.at), "lease": grant.lease})
    elif operation == "account":
        state = account(state, spec(), now=moment(data.get("at")), used=Counts.model_validate(data.get("used") or {}))
    elif operation == "release":
        state = release_lease(state, holder=str(data.get("holder") or ""))
    else:
        raise ValueError(f"unknown operation '{operation}' (acquire, account or release)")
    context.set_state(state.model_dump(mode="json"))
