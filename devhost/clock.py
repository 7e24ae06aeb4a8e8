"""Time for the host: the wall clock, or a virtual clock that only moves when the host advances it.

With ``--clock virtual`` the dispatcher advances the clock to the earliest due timer whenever nothing else
can run, after telling every ``--clock-sync`` URL (the ARM emulator's control endpoint) to advance to the same
instant, so both processes agree on "now" and a six-hour wait costs no wall time. The virtual now persists in
the store, so a restarted host continues where it was.
"""

from __future__ import annotations

import logging
import os
import ssl
from datetime import UTC, datetime

import aiohttp

from devhost.history import format_timestamp, parse_timestamp
from devhost.store import Store

log = logging.getLogger(__name__)

CLOCK_KEY = "clock.now"


def iso_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` and microseconds: what the emulator's control API reads and writes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def client_ssl_context() -> ssl.SSLContext:
    """Trust the emulator's CA the way the SDKs do: ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` (env/settings)."""
    bundle = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()


class ClockSyncError(RuntimeError):
    """A clock-sync URL did not answer as the emulator's control API does."""


class Clock:
    """The wall clock. ``virtual`` is False; :meth:`advance_to` is only meaningful for :class:`VirtualClock`."""

    mode = "real"
    virtual = False
    auto_advance = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def start(self) -> None:
        return None

    async def advance_to(self, target: datetime) -> datetime:
        raise NotImplementedError("the real clock cannot be advanced")

    async def close(self) -> None:
        return None


class VirtualClock(Clock):
    mode = "virtual"
    virtual = True

    def __init__(self, store: Store, sync_urls: list[str]) -> None:
        self.store = store
        self.sync_urls = [url.rstrip("/") for url in sync_urls]
        self.auto_advance = True
        saved = store.get_meta(CLOCK_KEY)
        self._now = parse_timestamp(saved) if saved else datetime.now(UTC)
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None

    def now(self) -> datetime:
        return self._now

    async def start(self) -> None:
        """Agree with the emulator: adopt its now, or push it forward to ours if ours is later (after a restart)."""
        for url in self.sync_urls:
            body = await self._call("GET", url, None)
            theirs = parse_timestamp(str(body["now"]))
            if theirs > self._now:
                self._set(theirs)
        if self.sync_urls:
            await self._broadcast(self._now)
        self._set(self._now)
        log.info("virtual clock at %s (synced with %d URL(s))", iso_z(self._now), len(self.sync_urls))

    async def advance_to(self, target: datetime) -> datetime:
        """Tell every clock-sync URL first, then move; never goes back."""
        if target <= self._now:
            return self._now
        await self._broadcast(target)
        self._set(target)
        return self._now

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _set(self, moment: datetime) -> None:
        self._now = max(self._now, moment)
        self.store.set_meta(CLOCK_KEY, format_timestamp(self._now))

    async def _broadcast(self, target: datetime) -> None:
        for url in self.sync_urls:
            body = await self._call("POST", url, {"advanceTo": iso_z(target)})
            theirs = parse_timestamp(str(body["now"]))
            if theirs > target:
                log.warning("clock-sync %s is ahead (%s > %s); adopting its time", url, iso_z(theirs), iso_z(target))
                self._set(theirs)

    async def _call(self, method: str, url: str, payload: dict[str, str] | None) -> dict[str, object]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self._ssl = client_ssl_context()
        try:
            async with self._session.request(method, f"{url}/clock", json=payload, ssl=self._ssl or True) as resp:
                body = await resp.json(content_type=None)
                if resp.status != 200 or not isinstance(body, dict) or "now" not in body:
                    raise ClockSyncError(f"{method} {url}/clock answered {resp.status}: {body!r}")
                return body
        except aiohttp.ClientError as exc:
            raise ClockSyncError(f"{method} {url}/clock failed: {exc}") from exc
