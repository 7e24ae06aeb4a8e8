"""One ARM budget for all of the app's traffic (issue 16), on a scaled-down mixed load: three batches and
tag-triggered migrations at once against ARM's token buckets shrunk tenfold in the emulator, with the app's budget
settings shrunk alike. Every migration succeeds, none receives a 429, and the budget visibly made work wait.

The same load with the app's budget left at Azure's numbers receives 161 429s (measured when this test was
written): the budget, not luck, keeps ARM's buckets from running dry. The full size (3 x 1,000 + 200 at Azure's
numbers) is ``python -m bench.budget`` (bench/README.md).
"""

from __future__ import annotations

import pytest

from bench.budget import MixedLoad, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOAD = MixedLoad(batches=3, batch_size=8, tagged=6, scale=0.1, timeout_seconds=600)


def test_batches_and_tag_triggered_migrations_share_one_budget_without_a_429() -> None:
    result = run(LOAD)
    assert result.succeeded == LOAD.migrations, result.failed
    assert result.throttled == {"app": 0, "tagging": 0}
    for kind, peak in result.peak_per_minute.items():
        assert peak["requests"] <= peak["allowed"], (kind, peak)
    budget = result.budget
    assert budget["waits"] > 0  # the budget was short: work waited for it on durable timers ...
    assert result.saw_waiting  # ... and said so in its status
    # Every poll lease was used, and handed on when given back (how often depends on timing) ...
    assert round(50 * LOAD.scale) <= budget["leases_granted"] < LOAD.migrations
    assert budget["leases_refused"] > 0  # ... and the migrations that found none asked for each replication read
    assert budget["accounted"]["reads"] >= LOAD.tagged  # the trigger told the budget what it read
