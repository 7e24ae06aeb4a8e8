"""Domain errors. Each carries a stable ``code`` so it survives the trip from an activity to the orchestrator.

    MigrationError                      base; ``code``, ``message``, ``retryable``
    ├── InvalidRequest                  bad input: field errors, bad tag values, malformed IDs (never retried)
    ├── SourceNotEligible               preflight failed: the managed image cannot be migrated as asked
    ├── GalleryNotFound                 the target gallery does not exist (or is not visible to us)
    ├── DefinitionIncompatible          an existing image definition does not fit the source
    ├── VersionConflict                 the version name is taken by a version built from another source
    ├── ReplicationFailed               a target region reported Failed
    ├── DeadlineExceeded                replication did not finish before the deadline
    ├── ValidationFailed                the built version does not match the source
    ├── PromotionFailed                 the validated version could not be made ``latest``
    ├── DeletionRefused                 a guard forbids deleting the source (it is kept)
    ├── PermissionDenied                ARM answered 403 AuthorizationFailed; names the missing action
    ├── ArmRequestFailed                ARM refused the request with a non-transient error
    │   └── TagLimitReached             ARM's TooManyTags (50 tags); the status-tag writers write what fits
    ├── TransientArmError               throttling/5xx/timeouts that outlived the SDK's own retries (retryable)
    └── Canceled                        the migration was canceled by a user

Durable Functions turns an activity's exception into ``Exception("Activity function 'x' failed:  <Type>: <msg>
\\n <details>")`` in the orchestrator (two blanks after ``failed:``: the extension keeps the one after the worker's
``Exception:`` label), so :func:`error_from_failure` recovers the domain error from that text by its class name.
Anything unrecognised becomes :class:`TransientArmError`'s sibling ``UnexpectedError``; the orchestrators also turn
any other exception (a bug) into ``UnexpectedError`` rather than end without their bookkeeping.
"""

from __future__ import annotations

import re
from typing import ClassVar


class MigrationError(Exception):
    code: ClassVar[str] = "MigrationError"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(MigrationError):
    code = "InvalidRequest"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class SourceNotEligible(MigrationError):
    code = "SourceNotEligible"


class GalleryNotFound(MigrationError):
    code = "GalleryNotFound"


class DefinitionIncompatible(MigrationError):
    code = "DefinitionIncompatible"


class VersionConflict(MigrationError):
    code = "VersionConflict"


class ReplicationFailed(MigrationError):
    code = "ReplicationFailed"


class DeadlineExceeded(MigrationError):
    code = "DeadlineExceeded"


class ValidationFailed(MigrationError):
    code = "ValidationFailed"


class PromotionFailed(MigrationError):
    code = "PromotionFailed"


class DeletionRefused(MigrationError):
    code = "DeletionRefused"


class PermissionDenied(MigrationError):
    code = "PermissionDenied"


class ArmRequestFailed(MigrationError):
    code = "ArmRequestFailed"


class TagLimitReached(ArmRequestFailed):
    """ARM answered ``TooManyTags``; the status-tag writers catch it and write what fits."""


class TransientArmError(MigrationError):
    code = "TransientArmError"
    retryable = True


class UnexpectedError(MigrationError):
    """An activity failed in a way we did not classify (a bug, or a host problem). Retried once or twice."""

    code = "UnexpectedError"
    retryable = True


class Canceled(MigrationError):
    """``landed``: the result of the step that was in flight when the cancel arrived (it ran to completion)."""

    code = "Canceled"

    def __init__(self, message: str, landed: object = None) -> None:
        super().__init__(message)
        self.landed = landed


_BY_NAME: dict[str, type[MigrationError]] = {
    cls.__name__: cls
    for cls in (
        InvalidRequest,
        SourceNotEligible,
        GalleryNotFound,
        DefinitionIncompatible,
        VersionConflict,
        ReplicationFailed,
        DeadlineExceeded,
        ValidationFailed,
        PromotionFailed,
        DeletionRefused,
        PermissionDenied,
        ArmRequestFailed,
        TransientArmError,
        UnexpectedError,
        Canceled,
    )
}

# "Activity function 'plan_migration' failed: GalleryNotFound: gallery ... \n {details json}"
_FAILURE = re.compile(r"failed:\s+(?P<type>[A-Za-z_][A-Za-z0-9_]*):\s(?P<message>.*?)(?:\s\n\s|$)", re.DOTALL)


def error_for_code(code: str, message: str) -> MigrationError:
    """The domain error named by ``code`` (a class name above); an unknown code is a plain MigrationError."""
    return _BY_NAME.get(code, MigrationError)(message)


def error_from_failure(exc: BaseException) -> MigrationError:
    """Recover the domain error an activity raised from the exception Durable hands the orchestrator."""
    if isinstance(exc, MigrationError):
        return exc
    text = str(exc)
    match = _FAILURE.search(text)
    if match and match.group("type") in _BY_NAME:
        return error_for_code(match.group("type"), match.group("message").strip())
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return UnexpectedError(first_line[:1000])
