"""Live: a tagged image appears by itself and its region bars follow replication to 100 % on the virtual clock;
the refresh backs off while nothing changes and stops while the tab is hidden."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.conftest import TEST_REFRESH, ConsolePage
from tests.e2e.world import World, gallery, image, image_id

pytestmark = pytest.mark.e2e

SCREENSHOT = os.environ.get("CONSOLE_SCREENSHOT")  # `make screenshot` sets it to docs/console.png


def region_progress(page, region: str) -> int:
    return int(page.locator(f"#region-{region}").get_attribute("value") or 0)


def test_a_tagged_image_appears_and_its_region_bars_reach_100(console: ConsolePage, world: World) -> None:
    world.seed(gallery(), image("web-01", data_disks=((0, 64), (1, 128))))
    page = console.open()
    expect(page.locator("#migration-rows")).to_contain_text("No migrations yet")
    host = world.stack.host
    host.clock(auto_advance=False)  # replication moves only when the test moves time
    instance = world.tag_for_migration(image_id("web-01"), **{"migrate-regions": "westus2=1;eastus=2"})

    row = page.locator(f'#migration-rows tr[data-id="{instance}"]')
    expect(row).to_be_visible(timeout=20_000)  # no reload: the live refresh brought it
    world.step_to_phase(instance, "replicating")  # past a wait for ARM budget, if the shared budget asks for one
    row.get_by_role("link", name="web-01").click()
    expect(page.locator("#migration-title")).to_have_text("web-01")
    expect(page.locator('#timeline li[data-phase="replicating"]')).to_have_attribute("data-state", "current")

    seen: list[int] = []
    for _ in range(40):
        host.clock(advance_by=300)
        time.sleep(TEST_REFRESH["baseMs"] / 1000 * 3)
        if page.locator("#region-eastus").count():
            seen.append(region_progress(page, "eastus"))
            if 0 < seen[-1] < 100:
                expect(page.locator('[data-region="eastus"]')).to_contain_text("Replicating · 2 replicas")
            if SCREENSHOT and 30 <= seen[-1] <= 80 and not Path(SCREENSHOT).exists():
                page.screenshot(path=SCREENSHOT)
        if seen and seen[-1] == 100:
            break
    assert any(0 < value < 100 for value in seen), seen
    assert seen[-1] == 100, seen
    assert seen == sorted(seen), seen
    expect(page.locator('[data-region="eastus"] .region-figures')).to_contain_text("2 replicas")
    expect(page.locator('[data-region="westus2"] .region-figures')).to_contain_text("1 replica")

    host.clock(auto_advance=True)
    world.finish(instance)
    expect(page.locator("#migration-facts")).to_contain_text("succeeded", timeout=20_000)
    expect(page.locator('#timeline li[data-phase="done"]')).to_have_attribute("data-state", "done")
    expect(page.locator('#timeline li[data-phase="replicating"] .duration')).to_contain_text("min")
    expect(page.locator('#timeline li[data-phase="awaiting-approval"]')).to_have_attribute("data-state", "skipped")
    expect(page.locator("#checks tbody tr")).not_to_have_count(0)
    assert page.locator('#checks tr[data-state="failed"]').count() == 0
    expect(page.locator("#source-fate")).to_contain_text("Deleted")
    expect(page.locator("#provenance")).to_contain_text("/versions/1.0.0")
    for region in ("westus2", "eastus"):
        assert region_progress(page, region) == 100


def test_refresh_backs_off_while_nothing_changes_and_pauses_while_hidden(console: ConsolePage, world: World) -> None:
    page = console.open()
    expect(page.locator("#migration-rows")).to_contain_text("No migrations yet")
    started = time.monotonic()
    page.wait_for_timeout(4000)  # (not time.sleep: Playwright delivers request events while it waits)
    polls = [r for r in console.api_requests("/api/migrations") if r.method == "GET"]
    # A fixed 250 ms poll would have sent ~16; doubling to the 1 s ceiling sends about half as many.
    assert 3 <= len(polls) <= 9, len(polls)

    page.evaluate(
        """() => {
        Object.defineProperty(document, "hidden", {value: true, configurable: true});
        Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    expect(page.locator("#live-status")).to_contain_text("Paused")
    before = len(console.api_requests("/api/migrations"))
    page.wait_for_timeout(2500)
    assert len(console.api_requests("/api/migrations")) == before  # nothing while hidden

    with page.expect_request(lambda r: "/api/migrations?" in r.url):
        page.evaluate(
            """() => {
            delete document.hidden; delete document.visibilityState;
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
        )
    assert time.monotonic() - started < 30
