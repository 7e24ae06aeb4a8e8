"""Every app setting the product reads, in one place: name, default, meaning.

Settings are environment variables (Functions app settings; ``local.settings.json`` locally). The README's
settings table, ``local.settings.json.example`` and the deployment template are checked against this model
by tests, so a setting cannot be added in one place and forgotten in another.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from migration.errors import InvalidRequest
from migration.regions import StorageAccountType
from migration.resource_ids import GUID_RE


class DeletionMode(StrEnum):
    AFTER_VALIDATION = "after-validation"
    NEVER = "never"
    AFTER_APPROVAL = "after-approval"


class AzureCloud(StrEnum):
    PUBLIC = "AzureCloud"
    CHINA = "AzureChinaCloud"
    US_GOVERNMENT = "AzureUSGovernment"


CLOUD_ENDPOINTS: dict[AzureCloud, str] = {
    AzureCloud.PUBLIC: "https://management.azure.com",
    AzureCloud.CHINA: "https://management.chinacloudapi.cn",
    AzureCloud.US_GOVERNMENT: "https://management.usgovcloudapi.net",
}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _setting(default: Any, env: str, doc: str) -> Any:
    return Field(default=default, alias=env, description=doc)


class Settings(BaseModel):
    """App settings. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # --- Azure Resource Manager access -------------------------------------------------------------------
    azure_cloud: AzureCloud = _setting(AzureCloud.PUBLIC, "AZURE_CLOUD", "Cloud whose ARM endpoint is used.")
    arm_endpoint: str = _setting("", "ARM_ENDPOINT", "ARM endpoint override (the local emulator); empty = cloud's.")
    azure_client_id: str = _setting(
        "", "AZURE_CLIENT_ID", "Client ID of the user-assigned managed identity; empty = system-assigned."
    )
    arm_retry_total: int = _setting(6, "ARM_RETRY_TOTAL", "SDK retries per ARM call for 429/5xx/timeouts.")
    arm_retry_backoff_seconds: float = _setting(
        0.8, "ARM_RETRY_BACKOFF_SECONDS", "SDK retry backoff factor (Retry-After wins when ARM sends one)."
    )
    arm_retry_backoff_max_seconds: float = _setting(60.0, "ARM_RETRY_BACKOFF_MAX_SECONDS", "Longest SDK retry wait.")

    # --- Tag contract --------------------------------------------------------------------------------------
    tag_trigger: str = _setting(
        "migrate-to-gallery", "TAG_TRIGGER", "Tag that starts a migration: gallery ID, gallery name or 'true'."
    )
    tag_option_prefix: str = _setting(
        "migrate-", "TAG_OPTION_PREFIX", "Prefix of option tags (migrate-definition, migrate-regions, ...)."
    )
    tag_status_prefix: str = _setting(
        "migration-", "TAG_STATUS_PREFIX", "Prefix of the tags the app writes (migration-status, ...)."
    )

    # --- Defaults for a migration --------------------------------------------------------------------------
    default_gallery_id: str = _setting("", "DEFAULT_GALLERY_ID", "Gallery used when the tag says 'true'.")
    default_publisher: str = _setting("ImageMigration", "DEFAULT_PUBLISHER", "Definition publisher default.")
    default_offer: str = _setting("managed-images", "DEFAULT_OFFER", "Definition offer default.")
    default_target_regions: str = _setting(
        "", "DEFAULT_TARGET_REGIONS", "Extra target regions, e.g. 'westus2=2;eastus=1'; the source is always in."
    )
    default_replica_count: int = _setting(1, "DEFAULT_REPLICA_COUNT", "Replicas per region when not given.")
    default_storage_account_type: StorageAccountType = _setting(
        StorageAccountType.STANDARD_LRS, "DEFAULT_STORAGE_ACCOUNT_TYPE", "Replica storage when not given."
    )
    default_deletion_mode: DeletionMode = _setting(
        DeletionMode.AFTER_VALIDATION, "DEFAULT_DELETION_MODE", "after-validation, never or after-approval."
    )
    default_end_of_life_days: int = _setting(
        0, "DEFAULT_END_OF_LIFE_DAYS", "End of life this many days after migration; 0 = none."
    )
    block_deletion_before_end_of_life: bool = _setting(
        True,
        "BLOCK_DELETION_BEFORE_END_OF_LIFE",
        "Validated versions with an end of life get safetyProfile.blockDeletionBeforeEndOfLife by default.",
    )
    initial_version: str = _setting("1.0.0", "INITIAL_VERSION", "First version number in a new definition.")
    allowed_regions: str = _setting(
        "", "ALLOWED_REGIONS", "Comma list replacing the built-in list of public Azure regions."
    )
    max_data_disk_size_gb: int = _setting(
        1023, "MAX_DATA_DISK_SIZE_GB", "Largest data disk accepted (the documented procedure: 1 TB, ARM: 1023 GB)."
    )

    # --- The ARM budget (Azure's published token buckets per principal and subscription) ----------------------
    arm_budget_reads_bucket: int = _setting(250, "ARM_BUDGET_READS_BUCKET", "ARM's read bucket (tokens).")
    arm_budget_reads_per_second: float = _setting(25.0, "ARM_BUDGET_READS_PER_SECOND", "ARM's read refill per second.")
    arm_budget_writes_bucket: int = _setting(200, "ARM_BUDGET_WRITES_BUCKET", "ARM's write bucket (tokens).")
    arm_budget_writes_per_second: float = _setting(
        10.0, "ARM_BUDGET_WRITES_PER_SECOND", "ARM's write refill per second."
    )
    arm_budget_deletes_bucket: int = _setting(200, "ARM_BUDGET_DELETES_BUCKET", "ARM's delete bucket (tokens).")
    arm_budget_deletes_per_second: float = _setting(
        10.0, "ARM_BUDGET_DELETES_PER_SECOND", "ARM's delete refill per second."
    )
    arm_budget_client_share: float = _setting(
        0.2,
        "ARM_BUDGET_CLIENT_SHARE",
        "Share of each bucket kept for the Event Grid trigger's and HTTP API's requests.",
    )
    arm_budget_poll_leases: int = _setting(
        50, "ARM_BUDGET_POLL_LEASES", "Migrations that may poll replication without asking for each read."
    )

    # --- Waiting for replication ---------------------------------------------------------------------------
    poll_first_seconds: int = _setting(
        180, "REPLICATION_POLL_FIRST_SECONDS", "First status check after submit (Azure queues regions about 150 s)."
    )
    poll_min_seconds: int = _setting(60, "REPLICATION_POLL_MIN_SECONDS", "Shortest wait between status checks.")
    poll_max_seconds: int = _setting(3600, "REPLICATION_POLL_MAX_SECONDS", "Longest wait between status checks.")
    poll_latency_fraction: float = _setting(
        0.05, "REPLICATION_POLL_LATENCY_FRACTION", "Accepted detection delay as a fraction of time elapsed."
    )
    replication_deadline_seconds: int = _setting(
        86400, "REPLICATION_DEADLINE_SECONDS", "Give up (source kept) if replication takes longer."
    )
    promotion_first_poll_seconds: int = _setting(
        151, "PROMOTION_FIRST_POLL_SECONDS", "First look at a promoted version (Azure keeps it Updating about 150 s)."
    )
    delete_failed_version: bool = _setting(
        True, "DELETE_FAILED_VERSION", "Remove a version whose replication or validation failed."
    )
    region_repair_attempts: int = _setting(
        2, "REGION_REPAIR_ATTEMPTS", "Retries of a region whose replication failed or stalled (0 = fail at once)."
    )
    region_repair_delay_seconds: int = _setting(
        300, "REGION_REPAIR_DELAY_SECONDS", "Wait before the first retry of a region (doubles each time)."
    )
    region_stall_seconds: int = _setting(
        3600,
        "REGION_STALL_SECONDS",
        "A region whose progress has not moved for this long counts as stalled (one still at 0 % only while another"
        " region has started or finished: a version whose regions all wait is slow as a whole, and the deadline"
        " covers it).",
    )
    transient_retry_attempts: int = _setting(
        4, "TRANSIENT_RETRY_ATTEMPTS", "Durable retries of a step after the SDK's own retries gave up."
    )
    transient_retry_delay_seconds: int = _setting(
        30, "TRANSIENT_RETRY_DELAY_SECONDS", "First wait before such a retry (doubles each time)."
    )

    # --- Approval and deletion ----------------------------------------------------------------------------
    allowed_tag_principals: str = _setting(
        "",
        "ALLOWED_TAG_PRINCIPALS",
        "Object IDs (users, service principals, groups) whose tag may delete the source without approval.",
    )
    approval_timeout_seconds: int = _setting(
        7 * 86400, "APPROVAL_TIMEOUT_SECONDS", "How long after-approval mode waits; on timeout the source is kept."
    )
    scale_set_scope: str = _setting(
        "subscription",
        "SCALE_SET_CHECK_SCOPE",
        "Where to look for scale sets using the image: subscription or resource-group.",
    )

    # --- Optional boot test --------------------------------------------------------------------------------
    boot_test_default: bool = _setting(False, "BOOT_TEST_DEFAULT", "Boot a VM from each new version by default.")
    boot_test_subnet_id: str = _setting("", "BOOT_TEST_SUBNET_ID", "Subnet for boot-test VMs (required to boot).")
    boot_test_vm_size: str = _setting("Standard_B2s", "BOOT_TEST_VM_SIZE", "Size of boot-test VMs.")
    boot_test_resource_group_prefix: str = _setting(
        "rg-imgmig-boottest-", "BOOT_TEST_RESOURCE_GROUP_PREFIX", "Scratch resource groups for boot tests."
    )

    # --- Fleet ---------------------------------------------------------------------------------------------
    batch_default_concurrency: int = _setting(10, "BATCH_DEFAULT_CONCURRENCY", "Migrations a batch runs at once.")
    batch_round_tasks: int = _setting(
        40,
        "BATCH_ROUND_TASKS",
        "Tasks a batch's orchestration awaits per execution before it continues as new (bounds its history).",
    )

    @field_validator("batch_round_tasks")
    @classmethod
    def _round(cls, value: int) -> int:
        if value < 20:
            raise ValueError("must be at least 20 (a round must be able to wait once for 100 migrations)")
        return value

    @field_validator("region_repair_attempts", "region_repair_delay_seconds", "region_stall_seconds")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("allowed_tag_principals")
    @classmethod
    def _principals(cls, value: str) -> str:
        bad = [p for p in _split(value) if not GUID_RE.fullmatch(p)]
        if bad:
            raise ValueError(f"must be a comma list of object IDs (GUIDs); not one: {bad[0][:40]!r}")
        return value

    @field_validator("arm_budget_client_share")
    @classmethod
    def _client_share(cls, value: float) -> float:
        if not 0 < value <= 0.9:
            raise ValueError("must be more than 0 and at most 0.9 (the rest of each bucket is granted to steps)")
        return value

    @model_validator(mode="after")
    def _budget_lanes(self) -> Settings:
        reads = self.arm_budget_reads_bucket * (1 - self.arm_budget_client_share) - self.arm_budget_poll_leases
        rate = self.arm_budget_reads_per_second * (1 - self.arm_budget_client_share)
        if self.arm_budget_poll_leases < 0 or reads < 1 or rate <= self.arm_budget_poll_leases / self.poll_min_seconds:
            raise ValueError(
                "ARM_BUDGET_POLL_LEASES: the poll leases must leave reads to grant (each reserves one read of the "
                "bucket and one read per REPLICATION_POLL_MIN_SECONDS of its refill)"
            )
        for name in ("reads", "writes", "deletes"):
            if getattr(self, f"arm_budget_{name}_bucket") < 1 or getattr(self, f"arm_budget_{name}_per_second") <= 0:
                raise ValueError(f"ARM_BUDGET_{name.upper()}_*: a bucket needs a size and a refill above 0")
        return self

    @field_validator("scale_set_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value not in ("subscription", "resource-group"):
            raise ValueError("must be 'subscription' or 'resource-group'")
        return value

    @property
    def resolved_arm_endpoint(self) -> str:
        return (self.arm_endpoint or CLOUD_ENDPOINTS[self.azure_cloud]).rstrip("/")

    @property
    def arm_scope(self) -> str:
        """Token scope: the cloud's ARM audience (the emulator accepts the public one)."""
        return CLOUD_ENDPOINTS[self.azure_cloud] + "/.default"

    @property
    def allowed_tag_principal_ids(self) -> frozenset[str]:
        return frozenset(p.lower() for p in _split(self.allowed_tag_principals))

    @property
    def allowed_region_list(self) -> list[str] | None:
        names = [r.strip() for r in self.allowed_regions.split(",") if r.strip()]
        return names or None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read settings from an environment mapping; empty values mean "use the default"."""
        values = {name: environ[name] for name in env_names() if environ.get(name, "") != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(_problem(e) for e in exc.errors(include_url=False))
            raise InvalidRequest(f"invalid app settings: {problems}") from None


def env_names() -> list[str]:
    """The environment variable names of every setting, in declaration order."""
    return [field.alias for field in Settings.model_fields.values() if field.alias]


def _env_of(loc: tuple[Any, ...]) -> str:
    return str(loc[0]) if loc else "?"


def _problem(error: Any) -> str:
    """``NAME: message``; a check across settings names them in its message."""
    if not error["loc"]:
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{_env_of(error['loc'])}: {error['msg']}"


def settings_table() -> list[tuple[str, str, str]]:
    """(name, default, description) rows for documentation."""
    rows = []
    for field in Settings.model_fields.values():
        default = field.default.value if isinstance(field.default, StrEnum) else field.default
        rows.append((field.alias or "", str(default), field.description or ""))
    return rows
