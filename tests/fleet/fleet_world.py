"""A fleet of managed images for end-to-end tests, and a ``FleetWorld`` that plans and batches like a user.

:func:`mixed_fleet` seeds 50 images in scope with known outcomes (the test's oracle), plus images the
filters or the scope leave out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.batch import peak_running
from tests.e2e.world import (
    GALLERY,
    GALLERY_RG,
    LOCATION,
    RG,
    SUB,
    World,
    definition,
    definition_id,
    gallery,
    image,
    image_id,
    scale_set,
    version,
)

GROUP_A, GROUP_B = "rg-fleet-a", "rg-fleet-b"
SCOPE = {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/{g}" for g in (GROUP_A, GROUP_B)]}
FILTERS = {"namePattern": "app-*", "tagsAbsent": ["do-not-migrate"]}


def fleet_seed(*resources: dict[str, Any]) -> dict[str, Any]:
    groups = (RG, GALLERY_RG, GROUP_A, GROUP_B)
    return {
        "subscriptions": [{"subscriptionId": SUB, "displayName": "fleet"}],
        "resourceGroups": [{"subscriptionId": SUB, "name": g, "location": LOCATION} for g in groups],
        "resources": list(resources),
    }


@dataclass
class Expected:
    """What should happen to one image (the oracle the plan and the report are checked against)."""

    outcome: str  # succeeded | failed | skipped
    error_code: str | None = None
    source_deleted: bool = False
    reason: str = ""  # a fragment of the failure, skip or kept reason


@dataclass
class MixedFleet:
    resources: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, Expected] = field(default_factory=dict)  # lower-cased image ID -> expectation
    left_out: list[str] = field(default_factory=list)


def mixed_fleet(count: int = 50) -> MixedFleet:
    """``count`` images named app-001... over two resource groups, with mixed outcomes:

    - app-003, app-017: a 2 TB data disk (preflight: data-disk-size); app-029: in eastus, the gallery is in
      westus2 (preflight: same-region);
    - app-010: a scale set uses it (migrated, source kept); app-033: its definition exists as Generation 1
      (DefinitionIncompatible); app-020: a version built from it exists (skipped); app-021: tagged
      migration-status=succeeded (skipped); app-004, app-009, ... are Windows.
    """
    fleet = MixedFleet(resources=[gallery()])
    for n in range(1, count + 1):
        name = f"app-{n:03d}"
        group = GROUP_A if n <= count // 2 else GROUP_B
        source = image_id(name, group=group)
        options: dict[str, Any] = {"group": group, "os_type": "Windows" if n % 5 == 4 else "Linux"}
        expected = Expected("succeeded", source_deleted=True)
        if name in ("app-003", "app-017"):
            options["data_disks"] = ((0, 64), (1, 2048))
            expected = Expected("failed", "SourceNotEligible", reason="data-disk-size")
        elif name == "app-029":
            options["location"] = "eastus"
            expected = Expected("failed", "SourceNotEligible", reason="same-region")
        elif name == "app-010":
            fleet.resources.append(scale_set("web-vmss", image=source))
            expected = Expected("succeeded", source_deleted=False, reason="no-scale-set-uses-it")
        elif name == "app-033":
            fleet.resources.append(definition(name, generation="V1"))
            expected = Expected("failed", "DefinitionIncompatible", reason="Hyper-V generation is V1")
        elif name == "app-020":
            fleet.resources += [definition(name), version(name, "1.0.0", source)]
            expected = Expected("skipped", reason="already migrated: version")
        elif name == "app-021":
            options["tags"] = {"migration-status": "succeeded"}
            expected = Expected("skipped", reason="already migrated: tag migration-status=succeeded")
        fleet.resources.append(image(name, **options))
        fleet.expected[source.lower()] = expected
    # Left out: by the name pattern, by the tag filter, and by the scope.
    fleet.resources += [
        image("tools-01", group=GROUP_A),
        image("app-keep", group=GROUP_B, tags={"do-not-migrate": "yes"}),
        image("app-outside"),
    ]
    fleet.left_out = [image_id("tools-01", group=GROUP_A), image_id("app-keep", group=GROUP_B), image_id("app-outside")]
    return fleet


@dataclass
class FleetWorld(World):
    def seed_fleet(self, *resources: dict[str, Any]) -> None:
        self.stack.arm.seed(fleet_seed(*resources))

    def plan(self, body: dict[str, Any], timeout: float = 60.0, *, top: int = 1000) -> dict[str, Any]:
        """POST /api/plans, then follow ``Location`` until the plan is ready, then every page of its rows: the plan
        document with all its rows in ``images``."""
        response = self.api("POST", "plans", json=body)
        assert response.status_code in (200, 202), response.text
        plan_id = response.json()["id"]
        deadline = time.monotonic() + timeout
        while response.status_code == 202:
            assert time.monotonic() < deadline, f"plan {plan_id} not ready after {timeout}s"
            time.sleep(0.1)
            response = self.api("GET", f"plans/{plan_id}")
        assert response.status_code == 200, response.text
        document = dict(response.json())
        rows = list(document["images"])
        while document.get("continuationToken") is not None:
            params = {"top": top, "continuationToken": document["continuationToken"]}
            page = self.api("GET", f"plans/{plan_id}", params=params)
            assert page.status_code == 200, page.text
            document = dict(page.json())
            rows += document["images"]
        return {**document, "images": rows, "count": len(rows)}

    def start_batch(self, body: dict[str, Any]) -> str:
        response = self.api("POST", "batches", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def finish_batch(self, batch_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """The batch's report once it ended: its header with every row (``images``), read page by page."""
        status = self.finish(batch_id, timeout=timeout)
        assert status["runtimeStatus"] == "Completed", status
        return self.report(batch_id)

    def report(self, batch_id: str, *, top: int = 1000) -> dict[str, Any]:
        """``GET /api/batches/{id}/report``, every page (following ``nextLink``): the last page's header, all rows."""
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"top": top}
        while True:
            response = self.api("GET", f"batches/{batch_id}/report", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert page["count"] == len(page["images"])
            rows += page["images"]
            if page["continuationToken"] is None:
                assert "nextLink" not in page
                return {**page, "images": rows, "count": len(rows)}
            params = {"top": top, "continuationToken": page["continuationToken"]}

    def batch_body(self, **extra: Any) -> dict[str, Any]:
        return {"scope": SCOPE, "filters": FILTERS, "galleryId": GALLERY, **extra}

    def peak_running(self, instance_ids: list[str]) -> int:
        """The most of these instances that ran at once (their durable created and ended times)."""
        return peak_running(self.stack.host, instance_ids)

    def new_versions(self, name: str) -> list[str]:
        return self.versions_of(name)

    @staticmethod
    def definition_of(name: str) -> str:
        return definition_id(name)
