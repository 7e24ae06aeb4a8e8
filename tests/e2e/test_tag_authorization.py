"""Issue 19 (1): nobody deletes an image through a tag they had no right to act on.

Three principals, each with its own role in the emulator (per-principal RBAC-lite): the platform engineer (Owner,
listed in ALLOWED_TAG_PRINCIPALS by the stack), a tagger who may only write tags (the built-in Tag Contributor's
``Microsoft.Resources/tags/*``), and the app's identity (the template's role). The app learns who wrote the tag
from the event the emulator raises, shaped as ARM's (``data.claims`` and ``data.authorization.evidence``).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from emulator.identity import principal_id_for
from localrun.stack import USER_PRINCIPAL_ID
from tests.e2e.world import (
    GALLERY_NAME,
    SUB,
    World,
    deployed_rbac,
    eventually,
    gallery,
    image,
    image_id,
)

pytestmark = pytest.mark.e2e

TAGGER_CLIENT_ID = "00000000-0000-0000-0000-00000000c0c0"
TAGGER_PRINCIPAL_ID = principal_id_for(TAGGER_CLIENT_ID)
TAG_CONTRIBUTOR = {"name": "Tag Contributor", "actions": ["Microsoft.Resources/tags/*"], "principals": []}


@pytest.fixture
def tagger(world: World) -> str:
    """A principal who may write tags anywhere and do nothing else."""
    world.stack.arm.set_role([*deployed_rbac(), {**TAG_CONTRIBUTOR, "principals": [TAGGER_PRINCIPAL_ID]}])
    return TAGGER_CLIENT_ID


def delivered_event(world: World, principal_id: str) -> dict[str, Any]:
    """The first tag-write event delivered to the app whose caller is ``principal_id``."""
    oid = "http://schemas.microsoft.com/identity/claims/objectidentifier"
    found = eventually(
        lambda: [
            d["event"]
            for d in world.stack.arm.deliveries(status="delivered")
            if d["event"]["data"]["claims"].get(oid) == principal_id
        ]
    )
    assert found, world.stack.arm.deliveries()
    return dict(found[0])


def test_a_listed_principal_s_tag_deletes_the_source(world: World) -> None:
    source = image_id("owner-tagged")
    world.seed(gallery(), image("owner-tagged"))
    output = world.finish(world.tag_for_migration(source))["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert not world.exists(source)
    evidence = delivered_event(world, USER_PRINCIPAL_ID)["data"]["authorization"]["evidence"]
    assert (evidence["principalId"], evidence["principalType"], evidence["role"]) == (
        USER_PRINCIPAL_ID,
        "ServicePrincipal",
        "Owner",
    )


def test_a_tags_only_principal_gets_a_validated_version_and_the_source_awaits_approval(
    world: World, tagger: str
) -> None:
    source = image_id("tagger-tagged")
    world.seed(gallery(), image("tagger-tagged"))
    with pytest.raises(HttpResponseError) as denied:  # the tagger cannot delete the image...
        world.stack.compute(SUB, tagger).images.begin_delete("rg-images", "tagger-tagged").result()
    assert denied.value.status_code == 403
    world.stack.host.clock(auto_advance=False)  # ...nor have the app do it: hold time at the approval
    world.tag(source, as_client=tagger, **{"migrate-to-gallery": GALLERY_NAME})
    instance = world.instance_of(source)
    world.step_to_phase(instance, "awaiting-approval")

    expected = f"approval required: tagged by ServicePrincipal {TAGGER_PRINCIPAL_ID}, not in ALLOWED_TAG_PRINCIPALS"
    assert world.versions_of("tagger-tagged") == ["1.0.0"]
    assert world.exists(source)
    assert world.summary(instance)["message"] == expected
    tags = eventually(lambda: world.tags_of(source) if "migration-reason" in world.tags_of(source) else None)
    assert (tags["migration-status"], tags["migration-reason"]) == ("awaiting-approval", expected)

    # Whoever holds the function key (an operator) decides.
    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert not world.exists(source)


def _event_for(image_id_: str, **changes: Any) -> dict[str, Any]:
    """A tag-write event shaped as ARM sends it, for the tagger (``changes`` edit its ``data``)."""
    oid = "http://schemas.microsoft.com/identity/claims/objectidentifier"
    data: dict[str, Any] = {
        "authorization": {
            "scope": image_id_,
            "action": "Microsoft.Resources/tags/write",
            "evidence": {"role": "Owner", "principalId": TAGGER_PRINCIPAL_ID, "principalType": "ServicePrincipal"},
        },
        "claims": {oid: TAGGER_PRINCIPAL_ID, "appid": TAGGER_CLIENT_ID},
        "operationName": "Microsoft.Resources/tags/write",
        "resourceUri": image_id_,
        "resourceProvider": "Microsoft.Resources",
        "status": "Succeeded",
        "subscriptionId": SUB,
    }
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return {
        "id": "forged-1",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": image_id_,
        "eventTime": "2026-11-25T10:00:00.0000000Z",
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": f"/subscriptions/{SUB}/resourceGroups/rg-images",
        "data": copy.deepcopy(data),
    }


FORGED = [
    ("no-authorization-or-claims", {"authorization": None, "claims": None}, "no authorization evidence"),
    ("no-claims", {"claims": None}, "the event has no claims"),
    # The evidence claims the listed engineer wrote the tags; the token says the tagger did.
    ("evidence-of-another-principal", {"authorization.evidence.principalId": USER_PRINCIPAL_ID}, "but the token"),
    ("unknown-principal-type", {"authorization.evidence.principalType": "Wizard"}, "names no principal"),
    ("another-image", {"authorization.scope": image_id("elsewhere")}, "scope is not the image"),
    ("another-operation", {"authorization.action": "Microsoft.Compute/images/delete"}, "not the event's operation"),
]


@pytest.mark.parametrize(("case", "changes", "reason"), FORGED, ids=[c[0] for c in FORGED])
def test_a_forged_or_missing_principal_keeps_the_source(
    world: World, case: str, changes: dict[str, Any], reason: str
) -> None:
    """The trigger tag is already on the image (no ARM event); the only event is one with a bad principal."""
    source = image_id("forged")
    world.seed(gallery(), image("forged", tags={"migrate-to-gallery": GALLERY_NAME}))
    response = world.stack.host.session.post(
        world.stack.event_webhook(),
        json=[_event_for(source, **changes)],
        headers={"aeg-event-type": "Notification"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    output = world.finish(world.instance_of(source))["output"]  # virtual time runs: the approval times out
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    assert output["sourceKeptReason"].startswith("no approval within 604800 s (approval required: no verifiable")
    assert reason in output["sourceKeptReason"]
    assert world.exists(source)
    assert len(world.versions_of("forged")) == 1


def test_an_untrusted_tag_write_during_a_migration_puts_its_deletion_on_hold(world: World, tagger: str) -> None:
    """The engineer's tag started a migration allowed to delete; the tagger then writes a tag on the image (its
    event could as well have been a late one for a write made before the start): deletion now needs approval."""
    source = image_id("held")
    world.seed(gallery(), image("held"))
    instance = world.tag_for_migration(source)
    world.hold_in_replication(instance)
    world.tag(source, as_client=tagger, **{"owner": "someone-else"})
    assert delivered_event(world, TAGGER_PRINCIPAL_ID)  # its trigger call (and the hold) completed
    world.step_to_phase(instance, "awaiting-approval")
    expected = f"approval required: tagged by ServicePrincipal {TAGGER_PRINCIPAL_ID}, not in ALLOWED_TAG_PRINCIPALS"
    assert world.summary(instance)["message"] == expected
    assert world.exists(source)

    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output


def test_a_hold_that_nobody_approves_keeps_the_source(world: World, tagger: str) -> None:
    source = image_id("held-long")
    world.seed(gallery(), image("held-long"))
    instance = world.tag_for_migration(source)
    world.hold_in_replication(instance)
    world.tag(source, as_client=tagger, **{"owner": "someone-else"})
    assert delivered_event(world, TAGGER_PRINCIPAL_ID)
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    assert output["sourceKeptReason"] == (
        "no approval within 604800 s (approval required: tagged by ServicePrincipal "
        f"{TAGGER_PRINCIPAL_ID}, not in ALLOWED_TAG_PRINCIPALS)"
    )
    assert world.exists(source)
