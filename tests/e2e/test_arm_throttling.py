"""The app meets ARM's own throttling (the emulator's token buckets, not an injected fault): with buckets small
enough that its bursts run them dry, it is answered 429 + Retry-After as Azure answers, waits, and still migrates
every image exactly once. The scale benchmark shows that with Azure's real numbers it is never throttled."""

from __future__ import annotations

import pytest

from localrun.stack import APP_CLIENT_ID
from tests.e2e.world import World, gallery, image, image_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A few requests' worth per bucket (Azure's are 250 reads and 200 writes/deletes per principal): the preflight's
# reads and the writes of two migrations started together overflow them. A world reset restores Azure's numbers.
SMALL_BUCKETS = {
    "reads": {"size": 6, "refillPerSecond": 3},
    "writes": {"size": 3, "refillPerSecond": 1},
    "deletes": {"size": 1, "refillPerSecond": 1},
}


def test_the_app_rides_out_arm_throttling(world: World) -> None:
    world.seed(gallery(), image("busy-a"), image("busy-b"))
    world.stack.arm.configure({"throttling": SMALL_BUCKETS})
    since = world.stack.arm.request_summary()["lastSeq"]
    first = world.tag_for_migration(image_id("busy-a"))  # both at once, each into a definition of its own
    second = world.tag_for_migration(image_id("busy-b"))
    outcomes = [world.finish(instance, timeout=120)["output"]["outcome"] for instance in (first, second)]

    outputs = [(world.stack.host.status(i) or {}).get("output") or {} for i in (first, second)]
    assert outcomes == ["succeeded", "succeeded"], [(o.get("error"), o.get("sourceKeptReason")) for o in outputs]
    assert world.versions_of("busy-a") == world.versions_of("busy-b") == ["1.0.0"]
    assert not world.exists(image_id("busy-a"))
    assert not world.exists(image_id("busy-b"))
    app = [e for e in world.stack.arm.requests(since=since) if e["clientId"] == APP_CLIENT_ID]
    throttled = [e for e in app if e["throttled"]]
    assert throttled, "the buckets never ran dry: the test proves nothing"
    assert all(e["status"] == 429 and e["errorCode"] == "SubscriptionRequestsThrottled" for e in throttled)
