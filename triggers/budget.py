"""The client functions' side of the ARM budget (``entities/arm_budget.py``, :mod:`migration.budget`).

Client functions cannot wait on durable timers, so they spend from the budget's *clients* lane: before a read that
can be put off (the Event Grid trigger's), they look whether the lane has room and otherwise let Event Grid deliver
the event again later (its retries back off); afterwards they tell the entity what they spent (a signal), so the lane
and everything granted after it account for it. The entity's state is read as ``read_entity_state`` returns it; a
budget that cannot be read never stops a client function.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df

from entities.arm_budget import spec
from migration.budget import KINDS, WAITING, BudgetState, Counts, client_room
from migration.errors import TransientArmError
from orchestrators.steps import budget_entity

logger = logging.getLogger(__name__)


async def admit(client: df.DurableOrchestrationClient, subscription: str, need: Counts) -> None:
    """:class:`TransientArmError` (``waiting for ARM budget``) when the clients' lane cannot take ``need`` now."""
    try:
        found = await client.read_entity_state(budget_entity(subscription))
        if not found.entity_exists or not isinstance(found.entity_state, dict):
            return
        state = BudgetState.model_validate(found.entity_state)
    except Exception:
        logger.warning("the ARM budget of %s could not be read; going ahead", subscription, exc_info=True)
        return
    now = datetime.now(UTC)
    for kind in KINDS:
        wanted = need.of(kind)
        if wanted and client_room(state, spec(), now=now, kind=kind) < wanted:
            raise TransientArmError(f"{WAITING}: no room for {wanted} {kind} in subscription {subscription} yet")


async def spent(client: df.DurableOrchestrationClient, subscription: str, used: Counts) -> None:
    """Tell the budget what was spent (a signal: no wait)."""
    if not used.total:
        return
    payload = {"at": datetime.now(UTC).isoformat(), "used": used.model_dump()}
    try:
        await client.signal_entity(budget_entity(subscription), "account", payload)
    except Exception:
        logger.warning("could not account %s to the ARM budget of %s", used, subscription, exc_info=True)
