"""Who may have a tag-started migration delete its source (migration/authorization.py), on events shaped like the
published ARM resource events (third_party/azure-specs/eventgrid)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.authorization import (
    DeletionAuthority,
    WriterReading,
    authorize_tag_request,
    deletion_authority,
    deletion_gate,
    hold_reason,
    holdable,
    writer_from_event,
)
from migration.errors import InvalidRequest
from migration.resource_ids import ImageId
from migration.settings import DeletionMode, Settings
from tests.infra.template import ROOT
from tests.migration.factories import IMAGE_ID, request, settings

IMAGE = ImageId.parse(IMAGE_ID)
SAMPLE = ROOT / "third_party" / "azure-specs" / "eventgrid" / "event-grid-schema" / "resource_write_success.json"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
TID = "http://schemas.microsoft.com/identity/claims/tenantid"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ALICE = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
ADMINS = "ad000000-0000-4000-8000-000000000003"
APP_OID, APP_CLIENT = "a9900000-0000-4000-8000-000000000004", "a9900000-0000-4000-8000-0000000000c1"
OWN = frozenset({APP_OID, APP_CLIENT})


def event_data(caller: str = ALICE, *, principal_id: str | None = None, principal_type: str = "User") -> dict[str, Any]:
    """The published ResourceWriteSuccess sample's data, for a tags write on IMAGE by ``caller``, with the evidence
    fields the Learn ResourceActionSuccess example shows (principalId, principalType, role assignment)."""
    data: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE.read_text("utf-8"))["data"])
    data.update(operationName="Microsoft.Resources/tags/write", resourceUri=IMAGE_ID, tenantId=TENANT)
    data["authorization"].update(scope=IMAGE_ID, action="Microsoft.Resources/tags/write")
    data["authorization"]["evidence"] = {
        "role": "Tag Contributor",
        "roleAssignmentScope": "/subscriptions/00000000-0000-0000-0000-000000000001",
        "principalId": principal_id or caller,
        "principalType": principal_type,
    }
    data["claims"].update({OID: caller, TID: TENANT})
    return data


def authority(data: object, allowed: frozenset[str] = frozenset({ALICE})) -> DeletionAuthority:
    return deletion_authority(writer_from_event(data, IMAGE), allowed=allowed, own=OWN)


def test_the_published_sample_names_no_principal_and_is_not_trusted() -> None:
    """The sample's evidence carries only a role, and its claims are placeholders: no writer can be verified."""
    sample = json.loads(SAMPLE.read_text("utf-8"))["data"]
    sample.update(operationName="Microsoft.Resources/tags/write", resourceUri=IMAGE_ID)
    sample["authorization"].update(scope=IMAGE_ID, action="Microsoft.Resources/tags/write")
    reading = writer_from_event(sample, IMAGE)
    assert reading.writer is None
    assert reading.problem == "the claims carry no object ID"
    assert not authority(sample).trusted


def test_a_listed_user_is_trusted_and_another_is_not() -> None:
    trusted = authority(event_data(ALICE))
    assert (trusted.trusted, trusted.reason) == (True, f"tagged by User {ALICE}, listed in ALLOWED_TAG_PRINCIPALS")
    other = authority(event_data(BOB))
    assert (other.trusted, other.reason) == (False, f"tagged by User {BOB}, not in ALLOWED_TAG_PRINCIPALS")


def test_a_write_allowed_through_a_listed_group_is_trusted() -> None:
    data = event_data(BOB, principal_id=ADMINS, principal_type="Group")
    assert authority(data, frozenset({ADMINS})).trusted
    assert not authority(data, frozenset({ALICE})).trusted
    assert authority(data, frozenset({BOB})).trusted  # the caller itself is listed


def test_ids_compare_without_case_and_the_tags_resource_subject_form_is_the_image() -> None:
    data = event_data(ALICE.upper())
    data["authorization"]["scope"] = IMAGE_ID.lower() + "/providers/Microsoft.Resources/tags/default"
    assert authority(data).trusted


LONG_ACTION = "Microsoft.Compute/images/delete/" + "x" * 90


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d.pop("authorization"), "the event has no authorization evidence"),
        (lambda d: d["authorization"].pop("evidence"), "the event has no authorization evidence"),
        (lambda d: d.pop("claims"), "the event has no claims"),
        (lambda d: d.update(claims={}), "the event has no claims"),
        (lambda d: d["claims"].pop(OID), "the claims carry no object ID"),
        (lambda d: d["claims"].update({OID: "not-a-guid"}), "the claims carry no object ID"),
        (
            lambda d: d["authorization"]["evidence"].pop("principalId"),
            "the evidence names no principal (principalId and principalType)",
        ),
        (
            lambda d: d["authorization"]["evidence"].update(principalType="Device"),
            "the evidence names no principal (principalId and principalType)",
        ),
        (
            lambda d: d["authorization"]["evidence"].update(principalId=BOB),
            f"the evidence names {BOB} but the token belongs to {ALICE}",
        ),
        (lambda d: d["claims"].update({TID: BOB}), "the token's tenant is not the event's tenant"),
        (lambda d: d["authorization"].update(scope=IMAGE_ID + "x"), "the authorization scope is not the image"),
        (
            lambda d: d["authorization"].update(action="Microsoft.Compute/images/write"),
            "the authorized action is not the event's operation",
        ),
        (lambda d: d["authorization"].update(action=None), "the authorized action is not the event's operation"),
        (
            lambda d: (
                d.update(operationName="Microsoft.Compute/images/delete")
                or d["authorization"].update(action="Microsoft.Compute/images/delete")
            ),
            "the authorized action Microsoft.Compute/images/delete is neither an image nor a tags write",
        ),
        (
            lambda d: d.update(operationName=LONG_ACTION) or d["authorization"].update(action=LONG_ACTION),
            f"the authorized action {LONG_ACTION[:80]} is neither an image nor a tags write",  # cut at 80
        ),
    ],
)
def test_a_missing_or_inconsistent_principal_is_never_trusted(edit: Any, problem: str) -> None:
    data = event_data(ALICE)
    edit(data)
    reading = writer_from_event(data, IMAGE)
    assert (reading.writer, reading.problem) == (None, problem)
    result = authority(data)
    assert not result.trusted
    assert result.reason == f"no verifiable tag writer ({problem})"


@pytest.mark.parametrize("data", [None, "text", ["a"]])
def test_data_that_is_not_an_object_names_no_writer(data: object) -> None:
    assert writer_from_event(data, IMAGE) == WriterReading(None, "the event has no data")


@pytest.mark.parametrize("side", ["token", "event"])
def test_the_tenant_check_needs_both_tenants(side: str) -> None:
    """A tenant known on one side only proves nothing either way: the writer is still read (ARM events carry both)."""
    data = event_data(ALICE)
    if side == "token":
        data["claims"].pop(TID)
    else:
        data.pop("tenantId")
    assert authority(data).trusted, writer_from_event(data, IMAGE)


def test_the_app_s_own_write_is_never_trusted_even_if_listed() -> None:
    by_object_id = authority(event_data(APP_OID, principal_type="ServicePrincipal"), frozenset({APP_OID}))
    assert (by_object_id.trusted, by_object_id.own_write) == (False, True)
    data = event_data(BOB, principal_type="ServicePrincipal")
    data["claims"]["appid"] = APP_CLIENT.upper()
    assert authority(data, frozenset({BOB})).own_write


@given(
    st.recursive(
        st.none() | st.booleans() | st.text(max_size=40),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=20), c),
    )
)
def test_reading_any_json_never_raises(data: object) -> None:
    assert writer_from_event(data, IMAGE).writer is None or isinstance(data, dict)


def test_an_untrusted_tag_turns_after_validation_into_after_approval_with_the_reason() -> None:
    untrusted = authority(event_data(BOB))
    gated = authorize_tag_request(request(), untrusted)
    assert gated.deletion_mode == DeletionMode.AFTER_APPROVAL
    assert gated.approval_reason == f"approval required: tagged by User {BOB}, not in ALLOWED_TAG_PRINCIPALS"
    assert deletion_gate(gated, None) == (True, gated.approval_reason)
    assert authorize_tag_request(request(), authority(event_data(ALICE))) == request()
    for mode in (DeletionMode.NEVER, DeletionMode.AFTER_APPROVAL):
        asked = request(deletion_mode=mode)
        assert authorize_tag_request(asked, untrusted) == asked


def test_a_hold_gates_only_tag_starts_that_would_delete_without_approval() -> None:
    tag_start = request().model_copy(update={"origin": "tag"})
    assert holdable(tag_start)
    assert not holdable(request())  # HTTP starts: the key holder asked
    assert not holdable(request(deletion_mode=DeletionMode.NEVER).model_copy(update={"origin": "tag"}))
    assert deletion_gate(tag_start, None) == (False, "")
    assert deletion_gate(tag_start, "approval required: x") == (True, "approval required: x")
    assert deletion_gate(request(deletion_mode=DeletionMode.NEVER), "approval required: x") == (False, "")


def test_hold_reason_accepts_the_sdk_s_double_encoded_string() -> None:
    assert hold_reason(json.dumps("approval required: x")) == "approval required: x"
    assert hold_reason("approval required: x") == "approval required: x"  # not JSON: as sent
    assert hold_reason("5") == "5"  # JSON, but not a string: the text as sent
    assert hold_reason(5) == "5"
    assert hold_reason("approval required: x") == "approval required: x"


def test_allowed_tag_principals_setting() -> None:
    parsed = settings(ALLOWED_TAG_PRINCIPALS=f" {ALICE.upper()}, {ADMINS} ").allowed_tag_principal_ids
    assert parsed == frozenset({ALICE, ADMINS})
    assert settings().allowed_tag_principal_ids == frozenset()
    with pytest.raises(InvalidRequest, match=r"ALLOWED_TAG_PRINCIPALS: .*object IDs"):
        Settings.from_env({"ALLOWED_TAG_PRINCIPALS": "alice@contoso.com"})


def test_deletion_authority_reasons_to_the_letter() -> None:
    from migration.authorization import DeletionAuthority, TagWriter, WriterReading, deletion_authority

    group = "9r0up000-0000-4000-8000-000000000009".replace("r", "0")
    own = frozenset({APP_OID, APP_CLIENT})
    by_group = TagWriter(object_id=BOB, principal_type="Group", granted_to=group)
    assert deletion_authority(WriterReading(by_group), allowed=frozenset({group}), own=own) == DeletionAuthority(
        True, f"tagged by principal {BOB} (through group {group}), listed in ALLOWED_TAG_PRINCIPALS"
    )
    assert deletion_authority(WriterReading(None, "no claims"), allowed=frozenset(), own=own) == DeletionAuthority(
        False, "no verifiable tag writer (no claims)"
    )
    app = TagWriter(object_id="x", principal_type="ServicePrincipal", granted_to="x", app_id=APP_CLIENT)
    assert deletion_authority(WriterReading(app), allowed=frozenset({"x"}), own=own) == DeletionAuthority(
        False, "the event is the app's own tag write, not a user's", own_write=True
    )
