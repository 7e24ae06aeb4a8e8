"""Paths to the vendored official Azure specifications and examples (``third_party/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "third_party"
AZURE_SPECS = ROOT / "azure-specs"
COMPUTE = AZURE_SPECS / "specification/compute/resource-manager/Microsoft.Compute/Compute/stable"
GALLERY_EXAMPLES = COMPUTE / "2026-03-03/examples/galleryExamples"
IMAGE_EXAMPLES = COMPUTE / "2026-03-01/examples/imageExamples"
SCALE_SET_EXAMPLES = COMPUTE / "2026-03-01/examples/virtualMachineScaleSetExamples"
EVENTGRID_SAMPLES = AZURE_SPECS / "eventgrid"
ARM_SCHEMAS = ROOT / "arm-schemas"


def example(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def response_body(path: Path, status: str = "200") -> dict[str, Any]:
    return dict(example(path)["responses"][status]["body"])
