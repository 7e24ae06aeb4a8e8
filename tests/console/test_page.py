"""The console page: served by the app itself with a strict CSP, loads with no console errors, asks for the
function key once per session and sends it only as the x-functions-key header."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.console.conftest import ConsolePage, console_url, new_console
from tests.e2e.world import World, gallery, image, image_id

pytestmark = pytest.mark.e2e


def test_page_and_assets_are_served_with_a_strict_content_security_policy(world: World) -> None:
    base = console_url(world.stack)
    page = requests.get(base, timeout=10)  # anonymous: the page holds no data
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" in page.text
    assert "<script>" not in page.text
    assert 'src="/api/console/app.js"' in page.text
    assert 'content="/api"' in page.text
    script = requests.get(base + "/app.js", timeout=10)
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(base + "/console.css", timeout=10).headers["Content-Type"].startswith("text/css")
    missing = requests.get(base + "/nope.js", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert requests.get(base + "/..%2Ffunction_app.py", timeout=10).status_code == 404
    # The API behind it still needs the key.
    assert requests.get(f"{world.stack.host.base_url}/api/migrations", timeout=10).status_code == 401


def test_the_key_is_asked_once_kept_for_the_session_and_never_put_in_a_url(browser: Browser, world: World) -> None:
    world.seed(gallery(), image("web-01"))
    instance = world.tag_for_migration(image_id("web-01"))
    world.finish(instance)
    context, tab = new_console(browser, world.stack, key=None)
    tab.allowed_statuses.add(401)
    page = tab.page
    page.goto(tab.url)
    dialog = page.get_by_role("dialog", name="Function key")
    expect(dialog).to_be_visible()
    page.get_by_role("textbox", name="Function key").fill("wrong-key")
    page.get_by_role("button", name="Use this key").click()
    expect(dialog.get_by_role("alert")).to_contain_text("refused (401)")
    page.get_by_role("textbox", name="Function key").fill(world.stack.host.function_key)
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#migration-rows tr[data-id]")).to_have_count(1)
    expect(page.locator("#migration-rows")).to_contain_text("web-01")

    page.reload()  # same tab session: no second prompt
    expect(page.locator("#migration-rows tr[data-id]")).to_have_count(1)
    expect(dialog).to_be_hidden()

    key = world.stack.host.function_key
    api = tab.api_requests()
    assert api, "the console made no API calls"
    assert all("code=" not in r.url and key not in r.url for r in tab.requests)
    assert {r.headers.get("x-functions-key") for r in api} >= {key}
    assert key not in page.url
    page.get_by_role("link", name="web-01").click()
    expect(page.locator("#durable-links a").first).to_be_visible()
    hrefs = page.locator("#durable-links a").evaluate_all("links => links.map(a => a.href + ' ' + a.textContent)")
    assert hrefs
    assert all("code=" not in h for h in hrefs), hrefs
    assert key not in page.content()
    context.close()
    assert tab.errors == [], tab.errors


def test_the_list_loads_with_no_console_errors_and_links_to_each_migration(console: ConsolePage, world: World) -> None:
    world.seed(gallery(), image("web-01"), image("web-02"))
    for name in ("web-01", "web-02"):
        world.finish(world.tag_for_migration(image_id(name)))
    page = console.open()
    rows = page.locator("#migration-rows tr[data-id]")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td").nth(3)).to_have_text("succeeded")
    expect(page.locator("#migration-count")).to_have_text("2 of 2 migrations")
    page.get_by_role("searchbox", name="Filter").fill("web-02")
    expect(rows).to_have_count(1)
    expect(page.locator("#migration-count")).to_have_text("1 of 2 migrations")


def test_the_list_follows_the_api_pages_to_the_end(console: ConsolePage, world: World) -> None:
    world.seed(gallery(), *(image(f"web-{i:02d}") for i in range(5)))
    for i in range(5):
        world.finish(world.tag_for_migration(image_id(f"web-{i:02d}")))
    console.page.add_init_script("sessionStorage.setItem('imgmig.pageSize', '2')")
    page = console.open()
    expect(page.locator("#migration-rows tr[data-id]")).to_have_count(5)
    first = [r.url for r in console.api_requests("/api/migrations?")][:3]
    assert "continuationToken" not in first[0]
    assert all("top=2" in url for url in first)
    assert all("continuationToken=" in url for url in first[1:])
