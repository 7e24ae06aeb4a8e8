"""The template's Event Grid filter, applied by the emulator's matcher to events shaped like Azure's published
sample (``third_party/azure-specs/eventgrid``): image writes and image tag writes pass, everything else does not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from emulator.eventgrid.filters import matches
from tests.infra.template import ROOT, event_subscription_filter

SAMPLES = ROOT / "third_party" / "azure-specs" / "eventgrid" / "event-grid-schema"
GROUP = "/subscriptions/6f0b1c3e-0000-4000-8000-000000000001/resourceGroups/rg-images"
IMAGE = f"{GROUP}/providers/Microsoft.Compute/images/img-web-2024"
TAGS = "/providers/Microsoft.Resources/tags/default"


def event(sample: str, subject: str, operation: str) -> dict[str, Any]:
    shaped: dict[str, Any] = copy.deepcopy(json.loads((SAMPLES / f"{sample}.json").read_text("utf-8")))
    shaped["subject"] = subject
    shaped["data"]["resourceUri"] = subject
    shaped["data"]["authorization"]["scope"] = subject
    shaped["data"]["authorization"]["action"] = operation
    shaped["data"]["operationName"] = operation
    return shaped


@pytest.mark.parametrize(
    ("sample", "subject", "operation"),
    [
        ("resource_write_success", IMAGE, "Microsoft.Compute/images/write"),
        ("resource_write_success", IMAGE, "Microsoft.Resources/tags/write"),
        ("resource_write_success", IMAGE + TAGS, "Microsoft.Resources/tags/write"),  # the other tags-event subject form
        ("resource_write_success", IMAGE.lower(), "microsoft.compute/images/write"),  # Event Grid ignores case here
    ],
)
def test_image_writes_and_image_tag_writes_are_delivered(sample, subject, operation):
    assert matches(event_subscription_filter(), event(sample, subject, operation))


@pytest.mark.parametrize(
    ("sample", "subject", "operation"),
    [
        (
            "resource_write_success",
            f"{GROUP}/providers/Microsoft.Compute/virtualMachines/vm1",
            "Microsoft.Compute/virtualMachines/write",
        ),
        (
            "resource_write_success",
            f"{GROUP}/providers/Microsoft.Storage/storageAccounts/sa1{TAGS}",
            "Microsoft.Resources/tags/write",
        ),
        (
            "resource_write_success",
            f"{GROUP}/providers/Microsoft.Compute/galleries/g1/images/def1/versions/1.0.0",
            "Microsoft.Resources/tags/write",
        ),
        (
            "resource_write_success",
            f"{GROUP}/providers/Microsoft.Compute/galleries/g1/images/def1",
            "Microsoft.Compute/galleries/images/write",
        ),
        ("resource_write_success", IMAGE, "Microsoft.Compute/images/delete"),
        ("resource_write_failure", IMAGE, "Microsoft.Compute/images/write"),
        ("resource_delete_success", IMAGE, "Microsoft.Compute/images/delete"),
    ],
)
def test_unrelated_writes_are_not_delivered(sample, subject, operation):
    assert not matches(event_subscription_filter(), event(sample, subject, operation))
