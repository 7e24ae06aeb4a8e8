"""Accessible and usable: axe-core (vendored) finds no serious or critical violation in any view, at 1280x800
and on a narrow screen; the console works with the keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import DESKTOP, NARROW, ConsolePage, new_console
from tests.e2e.world import GALLERY, RG, SUB, World, gallery, image, image_id

pytestmark = pytest.mark.e2e

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol, which the page's CSP does not govern; the page itself never could.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;undefined")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def populate(world: World) -> tuple[str, str]:
    world.replication_takes(600)
    world.seed(gallery(), image("web-01"), image("web-02"))
    done = world.tag_for_migration(image_id("web-01"))
    world.finish(done)
    waiting = world.tag_for_migration(image_id("web-02"), **{"migrate-delete-source": "after-approval"})
    world.step_to_phase(waiting, "awaiting-approval")
    batch = world.api(
        "POST",
        "batches",
        json={"scope": {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/{RG}"]}, "galleryId": GALLERY},
    ).json()["id"]
    return waiting, batch


@pytest.mark.parametrize("viewport", [DESKTOP, NARROW], ids=["1280x800", "narrow"])
def test_no_serious_accessibility_violations_in_any_view(browser: Browser, world: World, viewport) -> None:
    waiting, batch = populate(world)
    context, tab = new_console(browser, world.stack, key=world.stack.host.function_key, viewport=viewport)
    page = tab.page
    found: dict[str, Any] = {}
    views = {
        "#/migrations": "#migration-rows tr[data-id]",
        f"#/migrations/{waiting}": "#timeline li",
        "#/approvals": "#approvals tr[data-id]",
        "#/batches": "#batches tr[data-id]",
        f"#/batches/{batch}": "#batch-counts",
        "#/plan": "#plan-form",
    }
    for route, ready in views.items():
        tab.open(route)
        expect(page.locator(ready).first).to_be_visible(timeout=15_000)
        found[route] = serious_violations(page)
        # Nothing is cut off on a narrow screen: wide tables scroll inside their own region, the page does not.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), route
    tab.open(f"#/migrations/{waiting}")
    page.get_by_role("button", name="Approve source deletion…").click()
    found["confirm dialog"] = serious_violations(page)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Forget key").click()
    expect(page.get_by_role("dialog", name="Function key")).to_be_visible()
    found["key dialog"] = serious_violations(page)
    context.close()
    assert {k: v for k, v in found.items() if v} == {}
    assert tab.errors == []


def test_keyboard_only_navigation_sorting_and_confirmation(console: ConsolePage, world: World) -> None:
    world.seed(gallery(), image("web-01"), image("api-01"))
    for name in ("web-01", "api-01"):
        world.finish(world.tag_for_migration(image_id(name)))
    page = console.open()
    expect(page.locator("#migration-rows tr[data-id]")).to_have_count(2)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    hash_before = page.evaluate("window.tableBeforeSkip = document.querySelector('#migrations'); location.hash")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.wait_for_timeout(200)  # lets a hashchange the link might cause be handled (no assertion on timing)
    # the skip link moves the focus only: the route, and the view with its state, stay as they were
    assert page.evaluate("location.hash") == hash_before
    assert page.evaluate("document.contains(window.tableBeforeSkip)")
    sort = page.locator("button.sort[data-key='image']")
    sort.focus()
    expect(sort).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("th").filter(has_text="Image")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#migration-rows tr").first).to_contain_text("api-01")
    page.keyboard.press("Enter")  # focus stays on the header button across the re-render
    expect(page.locator("th").filter(has_text="Image")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#migration-rows tr").first).to_contain_text("web-01")

    link = page.get_by_role("link", name="api-01")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#migration-title")).to_have_text("api-01")
    page.get_by_role("link", name="Batches").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Batches")).to_have_attribute("aria-current", "page")


def test_the_audit_would_catch_a_violation(console: ConsolePage, world: World) -> None:
    """Guards against an audit that finds nothing because it sees nothing."""
    page = console.open()
    page.evaluate("document.querySelector('main').append(Object.assign(document.createElement('input'), {id: 'x'}))")
    assert "label" in {v["id"] for v in serious_violations(page)}
