"""The api-versions ARM accepts for the emulated types, and how it refuses any other.

Accepted: every stable version the clients in use send, not only the newest. The pinned SDKs send gallery
2026-03-03, compute 2026-04-01 and resources 2025-04-01; the Azure CLI (recorded traffic in
third_party/azure-recordings, and 2.91) sends gallery 2021-10-01 for galleries, definitions and lists,
2023-07-03/2024-03-03 for versions, compute 2022-11-01/2024-07-01 and resources 2022-09-01; Az PowerShell sends
resources 2021-04-01 and the compute/gallery versions of its Compute SDK. So: gallery types from 2021-10-01,
compute types and resources from the stable versions of 2021 on, each as the stable folders of
Azure/azure-rest-api-specs list them.

Refused as ARM refuses (the form of ARM's messages as quoted in Azure/azure-cli#28038, flatcar/mantle#520 and
Azure/azure-libraries-for-java#1293): Microsoft.Resources types with 400 ``InvalidApiVersionParameter`` "The
api-version 'X' is invalid. The supported versions are 'newest, ..., oldest'. Please see https://aka.ms/api-upgrade
for more details."; resource-provider types with 400 ``NoRegisteredProviderFound`` "No registered resource provider
found for location 'L' and API version 'X' for type 'T'. The supported api-versions are 'oldest, ..., newest'. The
supported locations are '...'."
"""

from __future__ import annotations

from emulator.core import errors
from emulator.core.regions import DISPLAY_NAMES

GALLERY_VERSIONS = (
    "2026-03-03",
    "2025-03-03",
    "2024-03-03",
    "2023-07-03",
    "2022-08-03",
    "2022-03-03",
    "2022-01-03",
    "2021-10-01",
)
COMPUTE_VERSIONS = (
    "2026-04-01",
    "2026-03-01",
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-09-01",
    "2023-07-01",
    "2023-03-01",
    "2022-11-01",
    "2022-08-01",
    "2022-03-01",
    "2021-11-01",
    "2021-07-01",
    "2021-04-01",
    "2021-03-01",
)
RESOURCES_VERSIONS = (
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-12-01",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
)
LATEST_GALLERY = GALLERY_VERSIONS[0]
ANY_COMPUTE = tuple(sorted(set(COMPUTE_VERSIONS + GALLERY_VERSIONS), reverse=True))

# Shapes that changed with the gallery api-version (what an older version's answer leaves out).
VALIDATIONS_PROFILE_SINCE = "2024-03-03"  # GalleryImageVersionProperties.validationsProfile
STORAGE_ACCOUNT_STRATEGY_SINCE = "2025-03-03"  # publishingProfile.storageAccountStrategy
SECURE_DEFAULTS_SINCE = "2025-03-03"  # a new definition defaults to V2 + TrustedLaunchSupported
DELETION_BLOCK_DEFAULTS_SINCE = "2026-03-03"  # a new version defaults to an end of life and a deletion block


def refusal(provider: str, resource_type: str, version: str, supported: tuple[str, ...], location: str) -> Exception:
    if provider == "Microsoft.Resources":
        listed = ", ".join(sorted(supported, reverse=True))
        return errors.InvalidApiVersionParameter(
            f"The api-version '{version}' is invalid. The supported versions are '{listed}'. Please see "
            "https://aka.ms/api-upgrade for more details."
        )
    return errors.NoRegisteredProviderFound(
        f"No registered resource provider found for location '{location}' and API version '{version}' for type "
        f"'{resource_type}'. The supported api-versions are '{', '.join(sorted(supported))}'. The supported "
        f"locations are '{', '.join(DISPLAY_NAMES)}'."
    )
