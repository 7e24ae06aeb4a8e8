"""Azure Resource Manager's request throttling: token buckets, ``x-ms-ratelimit-remaining-*`` headers, 429s.

The model is the one Microsoft Learn describes in "Understand how Azure Resource Manager throttles requests"
(``azure-resource-manager/management/request-limits-and-throttling``, section "Regional throttling and token bucket
algorithm", in force since 2024):

* requests are throttled per region (the emulator is one region) with a token bucket per subscription, per
  security principal and per operation type: reads 250 tokens refilled at 25 a second, writes 200 at 10, deletes
  200 at 10;
* a global subscription bucket per operation type, 15 times the principal's, is shared by all principals;
* tenant-level requests (no subscription in the path, e.g. ``GET /subscriptions``) have the same numbers per tenant
  and principal;
* an empty bucket answers 429 with ``Retry-After`` (seconds until a token is back); a throttled request is not
  processed and takes no token.

Which headers an answer carries follows the recorded Azure traffic (``shared/azure-recordings``, 2024-2025): reads
carry ``x-ms-ratelimit-remaining-subscription-global-reads``; writes ``...-subscription-writes`` and
``...-subscription-global-writes``; deletes ``...-subscription-deletes`` and ``...-subscription-global-deletes``.
Tenant-level answers carry the documented ``x-ms-ratelimit-remaining-tenant-reads`` / ``-writes``.

Time is real time; with a virtual clock, virtual advances count too (a test that moves the clock an hour has
waited an hour, also for the buckets).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.core import errors
from emulator.settings import ThrottlingSettings

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
KINDS = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}  # anything else (PUT, PATCH, POST) writes
_SINGULAR = {"reads": "read", "writes": "write", "deletes": "delete"}


def kind_of(method: str) -> str:
    return KINDS.get(method.upper(), "writes")


def subscription_of(path: str) -> str | None:
    """The subscription a request is scoped to, or None for a tenant-level request (``/subscriptions`` itself)."""
    m = _SUBSCRIPTION.match(path)
    return m.group(1).lower() if m else None


class SubscriptionRequestsThrottled(errors.TooManyRequests):
    code = "SubscriptionRequestsThrottled"


class TenantRequestsThrottled(errors.TooManyRequests):
    code = "TenantRequestsThrottled"


@dataclass
class _Bucket:
    tokens: float
    at: float


class Throttle:
    """All buckets of one emulator. ``now`` returns seconds on a monotonic scale."""

    def __init__(self, settings: Callable[[], ThrottlingSettings], now: Callable[[], float]):
        self._settings = settings
        self._now = now
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self.throttled: Counter[str] = Counter()  # 429s sent, by operation type

    def _size_rate(self, kind: str, scale: float) -> tuple[float, float]:
        bucket = getattr(self._settings(), kind)
        return bucket.size * scale, bucket.refill_per_second * scale

    def _level(self, key: tuple[str, ...], kind: str, scale: float, now: float) -> float:
        size, rate = self._size_rate(kind, scale)
        bucket = self._buckets.get(key)
        if bucket is None:
            return size
        return min(size, bucket.tokens + (now - bucket.at) * rate)

    def take(self, method: str, path: str, principal: str) -> dict[str, str]:
        """Take a token from every bucket the request counts against and return the headers to send, or raise
        the 429 ARM sends when one of them is empty (its ``Retry-After``: when the emptiest has a token again)."""
        settings = self._settings()
        kind = kind_of(method)
        if not settings.enabled:
            return {}
        subscription = subscription_of(path)
        keys: list[tuple[tuple[str, ...], float]]
        if subscription is None:
            keys = [(("tenant", principal, kind), 1.0)]
        else:
            keys = [(("principal", subscription, principal, kind), 1.0)]
            keys.append((("global", subscription, kind), settings.global_factor))
        now = self._now()
        levels = [self._level(key, kind, scale, now) for key, scale in keys]
        waits = [
            (1 - level) / self._size_rate(kind, scale)[1]
            for (_, scale), level in zip(keys, levels, strict=True)
            if level < 1
        ]
        if waits:
            self.throttled[kind] += 1
            retry = max(1, math.ceil(max(waits)))
            err = self._error(kind, subscription, principal, retry)
            err.headers["Retry-After"] = str(retry)
            err.headers.update(self._headers(kind, subscription, [max(0.0, x) for x in levels]))
            raise err
        remaining = []
        for (key, _), level in zip(keys, levels, strict=True):
            self._buckets[key] = _Bucket(level - 1, now)
            remaining.append(level - 1)
        return self._headers(kind, subscription, remaining)

    @staticmethod
    def _headers(kind: str, subscription: str | None, remaining: list[float]) -> dict[str, str]:
        if subscription is None:
            tenant_kind = "reads" if kind == "reads" else "writes"
            return {f"x-ms-ratelimit-remaining-tenant-{tenant_kind}": str(math.floor(remaining[0]))}
        own, shared = (str(math.floor(x)) for x in remaining)
        if kind == "reads":  # Azure sends only the global figure on reads (recorded traffic)
            return {"x-ms-ratelimit-remaining-subscription-global-reads": shared}
        return {
            f"x-ms-ratelimit-remaining-subscription-{kind}": own,
            f"x-ms-ratelimit-remaining-subscription-global-{kind}": shared,
        }

    @staticmethod
    def _error(kind: str, subscription: str | None, principal: str, retry: int) -> errors.ArmError:
        what = _SINGULAR[kind]
        if subscription is None:
            return TenantRequestsThrottled(
                f"Number of '{what}' requests for tenant actor '{principal}' exceeded. Please try again after "
                f"'{retry}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling"
            )
        return SubscriptionRequestsThrottled(
            f"Number of '{what}' requests for subscription '{subscription}' actor '{principal}' exceeded. Please try "
            f"again after '{retry}' seconds after additional tokens are available. Refer to "
            "https://aka.ms/arm-throttling"
        )

    def reset(self) -> None:
        """Every bucket full again and no 429 counted (``POST /_emulator/reset``, ``DELETE /_emulator/throttling``)."""
        self._buckets.clear()
        self.throttled.clear()

    def to_json(self) -> dict[str, Any]:
        now = self._now()
        settings = self._settings()
        buckets = []
        for key in self._buckets:
            scale = settings.global_factor if key[0] == "global" else 1.0
            buckets.append(
                {
                    "scope": key[0],
                    "subscription": key[1] if key[0] != "tenant" else None,
                    "principal": key[-2] if key[0] != "global" else None,
                    "kind": key[-1],
                    "remaining": math.floor(self._level(key, key[-1], scale, now)),
                    "size": self._size_rate(key[-1], scale)[0],
                }
            )
        return {
            "settings": settings.model_dump(by_alias=True),
            "throttled": {"total": sum(self.throttled.values()), **self.throttled},
            "buckets": buckets,
        }
