"""Image definitions: what to create for a source, and whether an existing one can take its versions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from migration.request import Architecture, DefinitionSpec, PurchasePlan
from migration.source import HyperVGeneration, OsState, OsType, SourceImage

STANDARD = "Standard"
# Security types a definition may declare and still accept a version built from a plain managed image of the
# same generation. TrustedLaunch / ConfidentialVM proper need a source captured from such a VM.
_ACCEPTS_PLAIN_V2 = {STANDARD, "TrustedLaunchSupported"}


class DefinitionFacts(BaseModel):
    """An image definition as read from ARM (the parts that decide compatibility)."""

    model_config = ConfigDict(frozen=True)

    id: str
    os_type: OsType
    os_state: OsState
    hyper_v_generation: HyperVGeneration | None = None
    architecture: Architecture | None = None
    security_type: str | None = None
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    purchase_plan: PurchasePlan | None = None
    provisioning_state: str = "Succeeded"
    features: dict[str, str] = Field(default_factory=dict)


def desired_security_type(spec: DefinitionSpec) -> str:
    """Explicit, always: since gallery API 2025-03-03 an omitted security type means TrustedLaunchSupported (and
    generation V2), which breaks Generation 1 sources. A managed image is a plain disk image, so Standard unless
    the caller asks otherwise."""
    return spec.features.get("SecurityType", STANDARD)


def definition_body(source: SourceImage, spec: DefinitionSpec, *, location: str) -> dict[str, Any]:
    """The ARM JSON body to create the definition (``GalleryImage``) for ``source``."""
    features = dict(spec.features)
    features["SecurityType"] = desired_security_type(spec)
    properties: dict[str, Any] = {
        "osType": source.os_type.value,
        "osState": source.os_state.value,
        "hyperVGeneration": source.effective_generation.value,
        "architecture": (spec.architecture or Architecture.X64).value,
        "identifier": {"publisher": spec.publisher, "offer": spec.offer, "sku": spec.sku},
        "features": [{"name": k, "value": v} for k, v in sorted(features.items())],
    }
    optional = {
        "description": spec.description,
        "eula": spec.eula,
        "releaseNoteUri": spec.release_note_uri,
        "privacyStatementUri": spec.privacy_statement_uri,
    }
    properties.update({k: v for k, v in optional.items() if v})
    if spec.purchase_plan is not None:  # never send an empty plan: it makes the definition "marketplace-derived"
        properties["purchasePlan"] = spec.purchase_plan.model_dump()
    return {"location": location, "properties": properties}


def compatibility_problems(existing: DefinitionFacts, source: SourceImage, spec: DefinitionSpec) -> list[str]:
    """Why versions of ``source`` cannot go into ``existing`` (empty list = compatible)."""
    problems = []
    if existing.os_type != source.os_type:
        problems.append(f"definition OS type is {existing.os_type}, the image's is {source.os_type}")
    if existing.os_state != source.os_state:
        problems.append(f"definition OS state is {existing.os_state}, the image's is {source.os_state}")
    existing_gen = existing.hyper_v_generation or HyperVGeneration.V1
    if existing_gen != source.effective_generation:
        problems.append(
            f"definition Hyper-V generation is {existing_gen.value}, the image's is {source.effective_generation.value}"
        )
    existing_arch = existing.architecture or Architecture.X64
    wanted_arch = spec.architecture or Architecture.X64
    if existing_arch != wanted_arch:
        problems.append(f"definition architecture is {existing_arch.value}, requested {wanted_arch.value}")
    existing_security = existing.security_type or STANDARD
    if "SecurityType" in spec.features:
        if existing_security != spec.features["SecurityType"]:
            problems.append(
                f"definition security type is {existing_security}, requested {spec.features['SecurityType']}"
            )
    elif source.effective_generation == HyperVGeneration.V1 and existing_security != STANDARD:
        problems.append(f"definition security type is {existing_security}; a Generation 1 image needs Standard")
    elif existing_security not in _ACCEPTS_PLAIN_V2:
        problems.append(f"definition security type {existing_security} needs a source captured from such a VM")
    if spec.purchase_plan is not None and existing.purchase_plan != spec.purchase_plan:
        problems.append("definition purchase plan differs from the requested one")
    if existing.provisioning_state.lower() not in ("succeeded", "updating"):
        problems.append(f"definition provisioning state is {existing.provisioning_state}")
    return problems
