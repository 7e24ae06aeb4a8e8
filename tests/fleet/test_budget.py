"""The ARM read budget: a batch's replication polls stay within ARM_READ_BUDGET_PER_MINUTE (12 on this stack).

Shown from the emulator's request log, on virtual timestamps: the same six migrations started one by one poll
at the schedule's own pace (every 10 s at first) and exceed the budget; run as a batch of six at once, each
child's polls are at least the floor (60 / (12 // 6) = 30 s) apart and no minute holds more than 12 polls.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime

import pytest

from tests.e2e.world import GALLERY, gallery, image, image_id
from tests.fleet.fleet_world import GROUP_A, GROUP_B, SCOPE, FleetWorld, peak_per_minute, replication_polls

pytestmark = pytest.mark.e2e
BUDGET = 12


def _start_one_by_one(world: FleetWorld, sources: list[str]) -> list[str]:
    host = world.stack.host
    host.clock(auto_advance=False)  # all start at the same virtual moment, as a batch's first wave does
    started = []
    for source in sources:
        response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "deletionMode": "never"})
        assert response.status_code == 202, response.text
        started.append(response.json()["id"])
    host.clock(auto_advance=True)
    return started


def test_batch_polls_stay_within_the_budget_that_single_migrations_exceed(tight: FleetWorld) -> None:
    batch_names = [f"app-{n:03d}" for n in range(1, 7)]
    solo_names = [f"solo-{n:02d}" for n in range(1, 7)]
    tight.seed_fleet(gallery(), *(image(n, group=GROUP_A) for n in batch_names), *(image(n) for n in solo_names))
    tight.replication_takes(900)
    arm = tight.stack.arm

    since = arm.request_summary()["lastSeq"]
    for instance in _start_one_by_one(tight, [image_id(n) for n in solo_names]):
        assert tight.finish(instance)["output"]["outcome"] == "succeeded"
    solo = replication_polls(arm.requests(since=since))
    assert peak_per_minute([moment for moment, _ in solo]) > BUDGET  # the load a batch must tame

    since = arm.request_summary()["lastSeq"]
    batch_id = tight.start_batch(
        {"scope": {"resourceGroups": SCOPE["resourceGroups"][:1]}, "galleryId": GALLERY, "maxConcurrency": 6}
    )
    report = tight.finish_batch(batch_id)
    assert report["pollFloorSeconds"] == 30
    assert report["counts"]["succeeded"] == 6, report
    polls = replication_polls(arm.requests(since=since))

    assert peak_per_minute([moment for moment, _ in polls]) <= BUDGET
    by_version: dict[str, list[datetime]] = defaultdict(list)
    for moment, path in polls:
        by_version[path].append(moment)
    assert len(by_version) == 6
    gaps = [(b - a).total_seconds() for times in by_version.values() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 30
    first_polls = {times[0] for times in by_version.values()}
    assert len(first_polls) > 1  # staggered: the children started together but did not poll together
    assert GROUP_B not in str(report["scope"])


def test_a_cap_above_the_budget_is_refused(tight: FleetWorld) -> None:
    response = tight.api("POST", "batches", json={"scope": SCOPE, "galleryId": GALLERY, "maxConcurrency": 13})
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [
        {
            "field": "maxConcurrency",
            "message": "a concurrency of 13 needs an ARM read budget of at least 13 per minute "
            "(ARM_READ_BUDGET_PER_MINUTE is 12): each migration polls at least once a minute",
        }
    ]
