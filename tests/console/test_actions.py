"""Approve and cancel from the console: a confirmation names the image and what will happen, the buttons send the
API's own requests, and the API's refusals are shown as its problem details."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ConsolePage
from tests.e2e.world import World, gallery, image, image_id

pytestmark = pytest.mark.e2e


def test_approve_from_the_approvals_view_deletes_the_source(console: ConsolePage, world: World) -> None:
    source = image_id("web-01")
    world.seed(gallery(), image("web-01"))
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "after-approval"})
    world.step_to_phase(instance, "awaiting-approval")
    page = console.open("#/approvals")
    row = page.locator(f'#approvals tr[data-id="{instance}"]')
    expect(row).to_be_visible()
    expect(page.locator("#approval-count")).to_have_text("1")

    row.get_by_role("button", name="Approve deleting web-01").click()
    dialog = page.get_by_role("dialog", name="Approve deleting web-01?")
    expect(dialog).to_contain_text(source)  # names the image and what happens to it
    expect(dialog).to_contain_text("cannot be restored")
    expect(page.locator("#confirm-back")).to_be_focused()  # the safe choice has the focus
    with page.expect_request(lambda r: r.method == "POST") as sent:
        dialog.get_by_role("button", name="Approve deleting web-01").click()
    request = sent.value
    assert request.url.endswith(f"/api/migrations/{instance}/approve")
    assert request.headers["x-functions-key"] == world.stack.host.function_key
    expect(page.locator("#notice")).to_have_text("Approval sent for web-01.")

    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert output["sourceDeleted"] is True
    assert not world.exists(source)
    expect(page.locator("#approvals")).to_contain_text("Nothing is waiting", timeout=15_000)


def test_cancel_from_the_migration_page_keeps_the_source(console: ConsolePage, world: World) -> None:
    source = image_id("web-02")
    world.seed(gallery(), image("web-02"))
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "after-approval"})
    world.step_to_phase(instance, "awaiting-approval")
    page = console.open(f"#/migrations/{instance}")
    expect(page.locator("#action-note")).to_contain_text("Waiting for your approval")
    page.get_by_role("button", name="Cancel migration…").click()
    dialog = page.get_by_role("dialog", name="Cancel the migration of web-02?")
    expect(dialog).to_contain_text("is kept")
    page.keyboard.press("Escape")  # going back sends nothing
    expect(dialog).to_be_hidden()
    assert console.api_requests(method="POST") == []

    page.get_by_role("button", name="Cancel migration…").click()
    with page.expect_request(lambda r: r.method == "POST") as sent:
        dialog.get_by_role("button", name="Cancel migrating web-02").click()
    assert sent.value.url.endswith(f"/api/migrations/{instance}/cancel")
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert output["outcome"] == "canceled"
    assert output["sourceDeleted"] is False
    assert world.exists(source)
    expect(page.locator("#migration-facts")).to_contain_text("canceled", timeout=15_000)
    expect(page.locator("#source-fate")).to_contain_text("Kept")
    expect(page.locator("#approve")).to_be_hidden()


def test_refusals_show_the_api_problem_details(console: ConsolePage, world: World) -> None:
    console.allowed_statuses.add(409)
    world.seed(gallery(), image("keep-01"), image("keep-02"))
    instance = world.tag_for_migration(image_id("keep-01"), **{"migrate-delete-source": "never"})
    world.step_to_phase(instance, "replicating")
    page = console.open(f"#/migrations/{instance}")
    # Nothing to approve before validation has passed: the console offers no approval at all.
    expect(page.get_by_role("button", name="Cancel migration…")).to_be_visible()
    expect(page.locator("#approve")).to_be_hidden()

    # Canceling a migration that ended while the confirmation was open: refused, and said so.
    page.get_by_role("button", name="Cancel migration…").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    world.stack.host.clock(auto_advance=True)
    world.finish(instance)
    with page.expect_response(lambda r: r.url.endswith("/cancel")) as answer:
        dialog.get_by_role("button", name="Cancel migrating keep-01").click()
    assert answer.value.status == 409
    problem = answer.value.json()
    expect(dialog.get_by_role("alert")).to_contain_text(f"409 {problem['title']}: {problem['detail']}")
    expect(dialog.get_by_role("alert")).to_contain_text("409 Migration Not Running")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#action-note")).to_contain_text("has ended", timeout=15_000)
    assert world.exists(image_id("keep-01"))

    # Approving a migration that was canceled while the confirmation was open: refused, the source kept.
    waiting = world.tag_for_migration(image_id("keep-02"), **{"migrate-delete-source": "after-approval"})
    world.step_to_phase(waiting, "awaiting-approval")
    page = console.open(f"#/migrations/{waiting}")
    page.get_by_role("button", name="Approve source deletion…").click()
    expect(dialog).to_be_visible()
    assert world.api("POST", f"migrations/{waiting}/cancel").status_code == 202
    world.stack.host.clock(auto_advance=True)
    assert world.finish(waiting)["output"]["outcome"] == "canceled"
    with page.expect_response(lambda r: r.url.endswith("/approve")) as answer:
        dialog.get_by_role("button", name="Approve deleting keep-02").click()
    assert answer.value.status == 409
    problem = answer.value.json()
    expect(dialog.get_by_role("alert")).to_contain_text(f"409 {problem['title']}: {problem['detail']}")
    assert world.exists(image_id("keep-02"))
