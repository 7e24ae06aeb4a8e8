"""Browser tests of the operator console: headless Chromium (Debian's ``chromium``) driven by Playwright, against
the emulator and the devhost as real processes on the virtual clock (the end-to-end suite's stack).

Chromium is required: CI installs it (``.ci/run``), and without it these tests fail rather than skip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.e2e.world import World
from tests.infra.template import event_subscription_filter

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
# Fast but real refresh: the same back-off code with shorter intervals, so tests wait on conditions, not minutes.
TEST_REFRESH = {"baseMs": 250, "maxMs": 1000, "factor": 2, "slowFactor": 5}


# No D-Bus on these machines: Chromium's attempts to reach one can stall its start for minutes now and then
# (puppeteer/puppeteer#11900, ppodgorsek/docker-robot-framework#457). "disabled:" makes each attempt fail at once;
# a start that still hangs is retried.
CHROMIUM_ENV = {"DBUS_SESSION_BUS_ADDRESS": "disabled:", "DBUS_SYSTEM_BUS_ADDRESS": "disabled:"}
LAUNCH_ATTEMPTS = 3


def start_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, through Playwright (its own browser download is not reachable here)."""
    env: dict[str, str | float | bool] = {**os.environ, **CHROMIUM_ENV}
    for attempt in range(1, LAUNCH_ATTEMPTS + 1):
        try:
            return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env, timeout=60_000)
        except PlaywrightTimeoutError:
            if attempt == LAUNCH_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)")
    return start_chromium(playwright)


# Per module, not per session: while Playwright's sync API is active it leaves an asyncio loop marked running in
# this thread, which later suites that run their own loop (tests/devhost) would trip over.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def console_stack() -> Iterator[LocalStack]:
    with LocalStack(
        clock="virtual", seed=None, settings=E2E_SETTINGS, event_filter=event_subscription_filter()
    ) as running:
        yield running


@pytest.fixture
def world(console_stack: LocalStack) -> World:
    return World.fresh(console_stack)


@dataclass
class ConsolePage:
    """A console tab: the page, what it logged and every request it sent."""

    page: Page
    url: str
    errors: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)  # refusals a test provokes on purpose
    requests: list[Request] = field(default_factory=list)

    def api_requests(self, path: str = "/api/", method: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if path in r.url and "/api/console" not in r.url and (method is None or r.method == method)
        ]

    def open(self, hash_route: str = "#/migrations") -> Page:
        self.page.goto(self.url + hash_route)
        self.page.wait_for_selector("main .view")
        return self.page


def console_url(stack: LocalStack) -> str:
    return f"{stack.host.base_url}/api/console"


def new_console(
    browser: Browser, stack: LocalStack, *, key: str | None, viewport: dict[str, int] = DESKTOP
) -> tuple[Any, ConsolePage]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    setup = f"sessionStorage.setItem('imgmig.refresh', {json.dumps(json.dumps(TEST_REFRESH))});"
    if key is not None:
        item = "'imgmig.functionKey'"
        setup += f"if (!sessionStorage.getItem({item})) sessionStorage.setItem({item}, {json.dumps(key)});"
    context.add_init_script(setup)
    page = context.new_page()
    tab = ConsolePage(page, console_url(stack))
    page.on("console", lambda m: _console_error(tab, m))
    page.on("pageerror", lambda e: tab.errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: tab.requests.append(r))
    return context, tab


def _console_error(tab: ConsolePage, message: ConsoleMessage) -> None:
    if message.type not in ("error", "warning"):
        return
    if any(f"status of {code} " in message.text for code in tab.allowed_statuses):
        return  # Chromium logs every 4xx a fetch receives; these are the refusals the test asked for
    tab.errors.append(f"{message.type}: {message.text}")


@pytest.fixture
def console(browser: Browser, world: World) -> Iterator[ConsolePage]:
    """A console tab at 1280x800 with the function key already entered; fails the test on any console error."""
    context, tab = new_console(browser, world.stack, key=world.stack.host.function_key)
    yield tab
    context.close()
    assert tab.errors == [], tab.errors
