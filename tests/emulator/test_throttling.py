"""ARM's throttling: the token buckets as Microsoft Learn publishes them (unit tests on a fake clock), and on the
wire the ``x-ms-ratelimit-remaining-*`` headers the recorded Azure traffic carries, 429 + Retry-After with ARM's
error body, the SDK's retry riding it out, and the 429s counted for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.identity import ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from emulator.control import EmulatorControl
from emulator.core.errors import TooManyRequests
from emulator.settings import ThrottlingSettings
from emulator.throttling import Throttle
from tests.emulator.conftest import IMAGE_ID, RG, SUB

APP, OTHER = "app-object-id", "someone-else"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def throttle(**settings: Any) -> tuple[Throttle, FakeTime]:
    clock = FakeTime()
    config = ThrottlingSettings.model_validate(settings)
    return Throttle(lambda: config, clock), clock


def burst(t: Throttle, method: str, n: int, principal: str = APP, path: str = f"/subscriptions/{SUB}/x") -> None:
    for _ in range(n):
        t.take(method, path, principal)


def test_published_bucket_sizes_and_refill_rates() -> None:
    t, clock = throttle()
    assert t.take("GET", f"/subscriptions/{SUB}/x", APP) == {
        "x-ms-ratelimit-remaining-subscription-global-reads": "3749"  # 250 x 15 - 1, as recorded
    }
    burst(t, "GET", 249)
    with pytest.raises(TooManyRequests) as e:
        t.take("GET", f"/subscriptions/{SUB}/x", APP)
    assert e.value.code == "SubscriptionRequestsThrottled"
    assert e.value.headers["Retry-After"] == "1"
    assert f"actor '{APP}'" in e.value.message
    assert "'read' requests" in e.value.message
    clock.now += 1.0  # 25 reads a second come back
    burst(t, "GET", 25)
    with pytest.raises(TooManyRequests):
        t.take("GET", f"/subscriptions/{SUB}/x", APP)
    assert t.throttled == {"reads": 2}
    # Writes and deletes are separate buckets of 200 refilled at 10 a second.
    assert t.take("PATCH", f"/subscriptions/{SUB}/x", APP) == {
        "x-ms-ratelimit-remaining-subscription-writes": "199",
        "x-ms-ratelimit-remaining-subscription-global-writes": "2999",
    }
    assert t.take("DELETE", f"/subscriptions/{SUB}/x", APP)["x-ms-ratelimit-remaining-subscription-deletes"] == "199"
    burst(t, "PUT", 199)
    with pytest.raises(TooManyRequests) as e:
        t.take("POST", f"/subscriptions/{SUB}/x", APP)
    assert e.value.headers["Retry-After"] == "1"  # 0.1 s to the next token, rounded up to ARM's whole seconds


def test_principals_have_their_own_buckets_under_a_global_one_15_times_larger() -> None:
    t, _ = throttle(reads={"size": 4, "refillPerSecond": 1}, globalFactor=2)
    burst(t, "GET", 4, APP)
    burst(t, "GET", 4, OTHER)  # a second principal is not throttled by the first
    with pytest.raises(TooManyRequests) as e:  # but the subscription's global bucket (4 x 2) is empty now
        t.take("GET", f"/subscriptions/{SUB}/x", "third")
    assert e.value.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "0"
    burst(t, "GET", 4, "third", path="/subscriptions/another-subscription/x")  # per subscription


def test_tenant_level_requests_and_retry_after_for_an_empty_bucket() -> None:
    t, clock = throttle(writes={"size": 1, "refillPerSecond": 0.25})
    assert t.take("GET", "/subscriptions", APP) == {"x-ms-ratelimit-remaining-tenant-reads": "249"}
    t.take("PUT", "/providers/Microsoft.Foo/x", APP)
    with pytest.raises(TooManyRequests) as e:
        t.take("PUT", "/providers/Microsoft.Foo/x", APP)
    assert e.value.code == "TenantRequestsThrottled"
    assert e.value.headers["Retry-After"] == "4"
    clock.now += 3.9  # a request before Retry-After has elapsed is refused again, with a new value
    with pytest.raises(TooManyRequests) as e:
        t.take("PUT", "/providers/Microsoft.Foo/x", APP)
    assert e.value.headers["Retry-After"] == "1"
    clock.now += 0.1
    t.take("PUT", "/providers/Microsoft.Foo/x", APP)


def test_turned_off_it_sends_no_headers() -> None:
    t, _ = throttle(enabled=False, reads={"size": 1, "refillPerSecond": 1})
    burst(t, "GET", 5)
    assert t.take("GET", f"/subscriptions/{SUB}/x", APP) == {}
    assert t.throttled == {}


# --- on the wire ---------------------------------------------------------------------------------------------
def _token() -> str:
    return ManagedIdentityCredential().get_token("https://management.azure.com/.default").token


def test_every_answer_carries_the_recorded_headers(arm: str, control: EmulatorControl) -> None:
    auth = {"Authorization": f"Bearer {_token()}"}
    v = {"api-version": "2024-11-01"}
    for _ in range(5):  # a full bucket, and this read alone in it (not a poller an earlier test left running)
        control.reset_throttling()
        control.clear_requests()
        read = requests.get(f"{arm}{IMAGE_ID}", params=v, headers=auth, verify=control.ca_bundle, timeout=30)
        if len(control.requests()) == 1:
            break
    assert read.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3749"
    assert "x-ms-ratelimit-remaining-subscription-writes" not in read.headers
    tags = f"{arm}{IMAGE_ID}/providers/Microsoft.Resources/tags/default"
    body: dict[str, Any] = {"operation": "Merge", "properties": {"tags": {"a": "b"}}}
    write = requests.patch(tags, params=v, json=body, headers=auth, verify=control.ca_bundle, timeout=30)
    assert write.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"
    assert write.headers["x-ms-ratelimit-remaining-subscription-global-writes"] == "2999"
    gone = requests.delete(tags, params=v, headers=auth, verify=control.ca_bundle, timeout=30)
    assert gone.headers["x-ms-ratelimit-remaining-subscription-deletes"] == "199"
    assert gone.headers["x-ms-ratelimit-remaining-subscription-global-deletes"] == "2999"
    missing = requests.get(f"{arm}{IMAGE_ID}x", params=v, headers=auth, verify=control.ca_bundle, timeout=30)
    assert missing.status_code == 404
    assert "x-ms-ratelimit-remaining-subscription-global-reads" in missing.headers


def test_an_empty_bucket_answers_429_the_sdk_waits_and_the_429s_are_counted(
    arm: str, control: EmulatorControl, resources: ResourceManagementClient
) -> None:
    control.configure({"throttling": {"reads": {"size": 3, "refillPerSecond": 2}}})
    auth = {"Authorization": f"Bearer {_token()}"}
    url = f"{arm}/subscriptions/{SUB}/resourcegroups/{RG}"
    for _ in range(5):  # full buckets and these reads alone in them (not a poller an earlier test left running)
        control.reset_throttling()
        control.clear_requests()
        answers = [
            requests.get(url, params={"api-version": "2024-11-01"}, headers=auth, verify=control.ca_bundle, timeout=30)
            for _ in range(4)
        ]
        if len(control.requests()) == 4:
            break
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert throttled.headers["x-ms-error-code"] == "SubscriptionRequestsThrottled"
    # azure-core's retry policy honours Retry-After: the call succeeds after waiting for a token.
    assert resources.resource_groups.get(RG).name == RG
    summary = control.request_summary()
    assert summary["throttled"] >= 1
    assert summary["byStatus"]["429"] == summary["throttled"]
    assert control.requests()[3]["throttled"] is True
    assert control.throttling()["throttled"]["reads"] == summary["throttled"]
    control.reset()
    assert control.throttling()["throttled"] == {"total": 0}  # a reset starts from full buckets


def test_a_virtual_clock_advance_refills_the_buckets(arm: str, control: EmulatorControl) -> None:
    control.configure({"throttling": {"writes": {"size": 1, "refillPerSecond": 0.001}}})
    auth = {"Authorization": f"Bearer {_token()}"}
    tags = f"{arm}{IMAGE_ID}/providers/Microsoft.Resources/tags/default"
    body: dict[str, Any] = {"operation": "Merge", "properties": {"tags": {"a": "b"}}}

    def patch() -> int:
        return requests.patch(
            tags, params={"api-version": "2024-11-01"}, json=body, headers=auth, verify=control.ca_bundle, timeout=30
        ).status_code

    assert [patch(), patch()] == [200, 429]
    control.advance(1000)  # the emulated world waited 1000 s: one token is back
    assert patch() == 200
