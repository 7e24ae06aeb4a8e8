"""Validation of a built version against its source, before anything depends on it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from migration.definitions import DefinitionFacts, compatibility_problems
from migration.plan import MigrationPlan, VersionFacts
from migration.regions import region_key
from migration.replication import ReplicationSnapshot
from migration.resource_ids import VersionId, same_id
from migration.source import Check, SourceImage, check


class ValidationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    checks: list[Check] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failure_reason(self) -> str:
        return "; ".join(f"{c.name}: {c.reason}" for c in self.checks if not c.passed)


def validation_checks(
    plan: MigrationPlan, version: VersionFacts | None, replication: ReplicationSnapshot | None
) -> list[Check]:
    """Every check the version must pass before it may be promoted and the source may be deleted."""
    source: SourceImage | None = plan.source
    if version is None or source is None:
        return [check(name="version-exists", passed=False, reason=f"{plan.version_id} was not found")]
    checks = [
        check(
            name="version-succeeded",
            passed=version.provisioning_state.lower() == "succeeded",
            reason=f"provisioning state is {version.provisioning_state}",
        ),
        check(
            name="built-from-source",
            passed=same_id(version.source_id, source.id),
            reason=f"the version's source is {version.source_id}, not {source.id}",
        ),
        check(
            name="in-definition",
            passed=same_id(str(VersionId.parse(version.id).definition_id), plan.definition_id),
            reason=f"the version is not in {plan.definition_id}",
        ),
    ]
    wanted = {region_key(r.name) for r in plan.target_regions}
    completed = {
        region_key(r.region) for r in (replication.regions if replication else []) if r.state.lower() == "completed"
    }
    missing = sorted(wanted - completed)
    checks.append(
        check(
            name="replicated-everywhere",
            passed=not missing,
            reason=f"not Completed in: {', '.join(missing)}",
        )
    )
    os_ok = version.os_disk is not None and (
        source.os_disk.size_gb is None
        or version.os_disk.size_gb is None
        or version.os_disk.size_gb >= source.os_disk.size_gb
    )
    checks.append(
        check(
            name="os-disk",
            passed=os_ok,
            reason=f"OS disk image {version.os_disk} does not match the source's {source.os_disk}",
        )
    )
    source_disks = {d.lun or 0: d.size_gb for d in source.data_disks}
    version_disks = {d.lun or 0: d.size_gb for d in version.data_disks}
    size_mismatch = [
        lun
        for lun, size in source_disks.items()
        if lun in version_disks and size is not None and version_disks[lun] is not None and version_disks[lun] != size
    ]
    checks.append(
        check(
            name="data-disks",
            passed=set(source_disks) == set(version_disks) and not size_mismatch,
            reason=(
                f"source data disk LUNs {sorted(source_disks)} vs version {sorted(version_disks)}"
                + (f"; size differs at LUN {size_mismatch}" if size_mismatch else "")
            ),
        )
    )
    return checks


def definition_check(plan: MigrationPlan, facts: DefinitionFacts | None) -> Check:
    """The definition the version lives in fits the source. ``facts``: the definition as the definition step created
    it; None when preflight found it compatible and reused it (its OS type, OS state, generation, architecture and
    features cannot change once it exists, and it cannot be deleted while it holds a version)."""
    if facts is None:
        return check(
            name="definition-matches", passed=not plan.definition_problems, reason="; ".join(plan.definition_problems)
        )
    assert plan.source is not None
    # The PUT's own answer shows the definition Creating; a version has since been built in it, so it finished.
    built_in = facts.model_copy(update={"provisioning_state": "Succeeded"})
    problems = compatibility_problems(built_in, plan.source, plan.request.definition)
    return check(name="definition-matches", passed=not problems, reason="; ".join(problems))


def report_from_last_read(
    plan: MigrationPlan, version: VersionFacts, replication: ReplicationSnapshot, definition: DefinitionFacts | None
) -> ValidationReport:
    """Validation from the replication read that saw the version complete (it carries everything the checks need),
    so validating costs no request of its own."""
    return ValidationReport(checks=[*validation_checks(plan, version, replication), definition_check(plan, definition)])
