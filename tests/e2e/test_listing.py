"""The list APIs return every instance, not the Durable query's first page of 100 (the Python SDK does not follow
the extension's continuation token: Azure/azure-functions-durable-python#580)."""

from __future__ import annotations

import pytest

from tests.e2e.world import World

pytestmark = pytest.mark.e2e


def test_more_than_one_page_of_migrations_is_listed(world: World) -> None:
    host = world.stack.host
    ids = [f"mig-page-{i:03d}-0000000000000000" for i in range(130)]
    for instance_id in ids:  # no input: each fails at once, which is all a listing needs
        host.start("migrate_image", None, instance_id=instance_id)
    page = host.session.get(
        f"{host.base_url}/runtime/webhooks/durabletask/instances",
        params={"code": host.durable_key, "instanceIdPrefix": "mig-"},
        timeout=30,
    )
    assert page.status_code == 200, (page.status_code, page.text[:300])
    assert len(page.json()) == 100  # the host's default page size
    assert page.headers.get("x-ms-continuation-token")

    response = world.api("GET", "migrations")
    assert response.status_code == 200, (response.status_code, response.text[:300], world.stack.logs()[-3000:])
    listed = response.json()
    assert listed["count"] == 130
    assert sorted(item["id"] for item in listed["value"]) == ids
