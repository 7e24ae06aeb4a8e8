"""Guards that must all hold before the source managed image is deleted. Any doubt keeps the source."""

from __future__ import annotations

from migration.settings import DeletionMode
from migration.source import Check, SourceImage, check


def deletion_checks(
    *,
    mode: DeletionMode,
    validation_passed: bool,
    preflight_fingerprint: str,
    current: SourceImage | None,
    referencing_scale_sets: list[str],
    replication_mode: str,
    approved: bool = False,
    cancel_requested: bool = False,
) -> list[Check]:
    checks = [
        check(name="not-canceled", passed=not cancel_requested, reason="a cancel was requested for this migration"),
        check(name="mode-allows", passed=mode != DeletionMode.NEVER, reason="deletion mode is 'never'"),
        check(name="validation-passed", passed=validation_passed, reason="the new version did not pass validation"),
    ]
    if mode == DeletionMode.AFTER_APPROVAL:
        checks.append(check(name="approved", passed=approved, reason="no approval was given"))
    checks.append(
        check(
            name="full-replication",
            passed=replication_mode.lower() == "full",
            reason="the version was replicated in Shallow mode and still reads from the source image",
        )
    )
    if current is None:
        checks.append(check(name="source-exists", passed=False, reason="the source image no longer exists"))
    else:
        checks.append(
            check(
                name="source-unchanged",
                passed=bool(preflight_fingerprint) and current.fingerprint == preflight_fingerprint,
                reason="the source image was modified after preflight, so the version is not a copy of it",
            )
        )
    checks.append(
        check(
            name="no-scale-set-uses-it",
            passed=not referencing_scale_sets,
            reason="still referenced by scale set(s): " + ", ".join(referencing_scale_sets[:10]),
        )
    )
    return checks


def refusal_reason(checks: list[Check]) -> str:
    return "; ".join(f"{c.name}: {c.reason}" for c in checks if not c.passed)
