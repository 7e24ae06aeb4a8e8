"""``migrate_image``: one managed image into a gallery, from preflight to (maybe) deleting the source.

Deterministic by construction: time only from ``context.current_utc_datetime``, every decision asked of the
domain (``migration``), every side effect in an activity. Settings arrive in the input (the starter snapshots
them), so a settings change never changes the replay of a running migration.

Phases (custom status ``phase``): preflight -> definition -> version -> replicating -> validating ->
[awaiting-approval] -> [repointing-scale-sets] -> deleting-source -> done | failed | canceled. A ``cancel`` event
stops the migration at the next step boundary (or at once during a wait); the source is never deleted after a
cancel, and no irreversible write (promotion, repoint, deletion) is scheduled in an episode that delivers a
cancel, whichever endpoint raised it. Event names are accepted in any case, as the host matches them. Whatever
fails, even a bug, the migration ends ``failed`` with its bookkeeping done (an unvalidated version removed, the
status tags written).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from migration.authorization import deletion_gate, hold_reason, holdable
from migration.budget import Counts, step_needs
from migration.definitions import DefinitionFacts
from migration.errors import (
    Canceled,
    DeadlineExceeded,
    MigrationError,
    PermissionDenied,
    PromotionFailed,
    ReplicationFailed,
    UnexpectedError,
    ValidationFailed,
    error_for_code,
)
from migration.plan import MigrationPlan, VersionFacts, validated_update
from migration.replication import (
    Observation,
    RegionWatch,
    ReplicationSnapshot,
    next_poll_delay,
    next_repair,
    progress_view,
    remember,
    stalled_regions,
    watch_regions,
)
from migration.request import MigrationRequest
from migration.settings import DeletionMode, Settings
from migration.source import Check, check
from migration.status import (
    ErrorInfo,
    MigrationOutcome,
    Outcome,
    Phase,
    Progress,
    ScaleSetAction,
    ScaleSetReport,
)
from migration.tags import MigrationStatus
from migration.validation import report_from_last_read
from orchestrators import steps
from orchestrators.episodes import accept_event_names_any_case, first_raised_by_episode_end
from orchestrators.steps import CANCEL_EVENT, Cancellation, Steps, budget_entity, iso

bp = df.Blueprint()

APPROVE_EVENT = "approve"
HOLD_EVENT = "hold"  # an untrusted tag write while running: deletion waits for approval (migration/authorization.py)
__all__ = ["APPROVE_EVENT", "CANCEL_EVENT", "HOLD_EVENT", "bp", "migrate_image"]
# A single durable timer must stay under the Azure Storage provider's 6-day limit; longer waits loop.
MAX_TIMER = timedelta(days=5)
BOOT_TEST_POLL = timedelta(seconds=30)
BOOT_TEST_TIMEOUT = timedelta(minutes=30)
# The promotion PATCH leaves the version Updating for about 150 s (Azure traffic recorded by the Azure CLI's tests,
# azure-cli vm module, test_image_update_add_set.yaml; emulator/README.md, "Calibration"): the first look comes then
# (PROMOTION_FIRST_POLL_SECONDS), later ones after a short backoff, at most 30 min in all.
PROMOTION_BACKOFF = timedelta(seconds=15)
PROMOTION_TIMEOUT = timedelta(minutes=30)
# What the tag trigger read (the image, the gallery) serves preflight while it is this fresh.
KNOWN_FACTS_MAX_AGE = timedelta(minutes=10)
FIRST_BURST = ("run_preflight", "ensure_image_definition", "submit_image_version")


class MigrationRun:
    """State of one execution of the orchestrator (rebuilt identically on every replay)."""

    def __init__(
        self,
        context: df.DurableOrchestrationContext,
        request: MigrationRequest,
        settings: Settings,
        run_id: str | None = None,
        known: dict[str, Any] | None = None,
    ):
        self.ctx = context
        self.request = request
        self.settings = settings
        self.known = known or {}
        self.leased = False  # a poll lease of the ARM budget: replication reads need no grant each
        self.last_read: dict[str, Any] | None = None  # the latest replication read
        accept_event_names_any_case(context, (CANCEL_EVENT, APPROVE_EVENT, HOLD_EVENT))
        self.cancel = Cancellation(context, CANCEL_EVENT)
        self.started = context.current_utc_datetime
        self.phase_started = self.started
        self.phase_seconds: dict[str, float] = {}
        self.repairs: dict[str, int] = {}  # region -> replication retries so far
        # Identifies this run (the instance ID is reused by later migrations of the same image): chosen by the
        # starter; the fallback is for inputs from other starters (e.g. the Durable HTTP API).
        self.run_id = run_id or f"{context.instance_id}@{iso(self.started)}"
        self.progress = Progress(
            phase=Phase.PREFLIGHT,
            source_image_id=request.source_image_id,
            run_id=self.run_id,
            phase_started_at=iso(self.started),
        )

    # --- progress -------------------------------------------------------------------------------------
    def publish(self, **changes: Any) -> None:
        self.progress = self.progress.model_copy(update=changes)
        self.ctx.set_custom_status(self.progress.custom_status())

    def enter(self, phase: Phase, **changes: Any) -> None:
        now = self.ctx.current_utc_datetime
        previous = self.progress.phase
        self.phase_seconds[previous.value] = (
            self.phase_seconds.get(previous.value, 0.0) + (now - self.phase_started).total_seconds()
        )
        self.phase_started = now
        self.publish(**{"phase": phase, "phase_started_at": iso(now), "message": "", "next_poll_at": None, **changes})

    # --- steps ----------------------------------------------------------------------------------------
    def call(
        self,
        name: str,
        payload: dict[str, Any],
        *,
        cancellable: bool = True,
        irreversible: bool = False,
        prepaid: bool = False,
    ) -> Steps:
        """An activity with durable retries, stopped by a cancel; bookkeeping after the end is not cancellable;
        an irreversible one is not even scheduled when a cancel is due in the same episode. Its ARM requests are
        asked of the budget first, unless ``prepaid`` by a coarser grant (retries always ask)."""
        return (
            yield from steps.call(
                self.ctx,
                name,
                payload,
                self.settings,
                cancel=self.cancel,
                cancellable=cancellable,
                irreversible=irreversible,
                on_retry=lambda message: self.publish(message=message),
                need=self.needs(name),
                prepaid=prepaid,
            )
        )

    # --- the ARM budget ---------------------------------------------------------------------------------------
    def needs(self, *activities: str) -> dict[str, Counts]:
        return step_needs(
            list(activities),
            image_subscription=self.request.image.subscription_id,
            gallery_subscription=self.request.gallery.subscription_id,
        )

    def acquire(self, *activities: str, lease: bool = False) -> Steps:
        """One grant for several steps' requests (and a poll lease, or giving back the one held); the wait for it,
        if any, is in the status (``waiting for ARM budget until ...``)."""
        holds = self.leased
        leased = yield from steps.acquire(
            self.ctx,
            self.needs(*activities),
            cancel=self.cancel,
            on_wait=lambda message: self.publish(message=message),
            lease_on=self.request.gallery.subscription_id if lease else None,
            release_on=self.request.gallery.subscription_id if holds and not lease else None,
        )
        self.leased = leased

    def release_lease(self) -> None:
        """Give back the poll lease (a signal: no wait, one history event)."""
        if self.leased:
            entity = budget_entity(self.request.gallery.subscription_id)
            self.ctx.signal_entity(entity, "release", {"holder": self.ctx.instance_id})
            self.leased = False

    def known_facts(self) -> dict[str, Any]:
        """What the trigger read, if fresh enough to stand for preflight's own reads. The trigger reads right before
        it starts this instance, so the age is measured on the orchestration's own clock from its first episode
        (the trigger's ``readAt`` comes from another clock: another machine in Azure, wall time under the devhost's
        virtual clock). A stale read can only make the deletion guard refuse (the image's fingerprint changed)."""
        if not self.known.get("readAt"):
            return {}
        if self.ctx.current_utc_datetime - self.started > KNOWN_FACTS_MAX_AGE:
            return {}
        return {key: value for key, value in self.known.items() if key in ("source", "galleryLocation")}

    def sleep_until(self, fire_at: datetime) -> Steps:
        yield from steps.sleep_until(self.ctx, fire_at, cancel=self.cancel)

    # --- phases ---------------------------------------------------------------------------------------
    def wait_for_replication(self, plan_json: dict[str, Any], version_id: str, replicas: dict[str, int]) -> Steps:
        submitted = self.ctx.current_utc_datetime
        observations: list[Observation] = []
        watched: dict[str, RegionWatch] = {}
        snapshot: ReplicationSnapshot | None = None
        polls = 0
        while True:
            now = self.ctx.current_utc_datetime
            delay = next_poll_delay(observations, elapsed=(now - submitted).total_seconds(), settings=self.settings)
            if delay <= 0:
                pending = [r.region for r in (snapshot.regions if snapshot else []) if r.state.lower() != "completed"]
                raise DeadlineExceeded(
                    f"replication did not finish within the {self.settings.replication_deadline_seconds} s deadline"
                    + (f"; still pending in: {', '.join(pending)}" if pending else "")
                )
            fire_at = now + timedelta(seconds=delay)
            self.publish(next_poll_at=iso(fire_at))
            yield from self.sleep_until(fire_at)
            result = yield from self.call("get_replication_status", {"versionId": version_id}, prepaid=self.leased)
            snapshot = ReplicationSnapshot.model_validate(result)
            self.last_read = result
            polls += 1
            self.publish(regions=progress_view(snapshot, replicas, self.repairs), polls=polls, next_poll_at=None)
            if snapshot.provisioning_state == "NotFound":
                raise ReplicationFailed(f"{version_id} disappeared while replicating")
            elapsed = (self.ctx.current_utc_datetime - submitted).total_seconds()
            if snapshot.failed:
                failed = [r.region for r in snapshot.failed_regions]
                if not failed:  # the version failed as a whole: nothing regional to retry
                    raise ReplicationFailed(snapshot.failure_reason())
                yield from self.repair_regions(plan_json, version_id, failed, snapshot.failure_reason())
                observations, watched = [], {}
                continue
            if snapshot.completed:
                return snapshot
            watched = watch_regions(watched, snapshot, elapsed)
            stalled = stalled_regions(
                watched, snapshot, elapsed=elapsed, stall_seconds=self.settings.region_stall_seconds
            )
            if stalled:
                cause = "replication stalled in " + "; ".join(
                    f"{region}: no progress from {watched[region].progress} % for "
                    f"{int(elapsed - watched[region].since)} s"
                    for region in stalled
                )
                yield from self.repair_regions(plan_json, version_id, stalled, cause)
                observations, watched = [], {}
                continue
            observations = remember(observations, Observation(elapsed=elapsed, progress=snapshot.slowest_progress))

    def repair_regions(self, plan_json: dict[str, Any], version_id: str, regions: list[str], cause: str) -> Steps:
        """Retry the replication of ``regions`` after a backoff on a durable timer (cancellable), keeping every
        completed region; fail as before once ``REGION_REPAIR_ATTEMPTS`` retries did not help."""
        decision = next_repair(self.repairs, regions, self.settings)
        if decision.exhausted:
            tried = decision.attempt - 1
            raise ReplicationFailed(
                cause + (f"; still failing after {tried} repair attempt(s) (REGION_REPAIR_ATTEMPTS)" if tried else "")
            )
        for region in regions:
            self.repairs[region] = decision.attempt
        fire_at = self.ctx.current_utc_datetime + timedelta(seconds=decision.delay_seconds)
        names = ", ".join(regions)
        self.publish(
            message=f"{cause}; retrying {names} (attempt {decision.attempt} of {decision.allowed}) at {iso(fire_at)}",
            regions={
                name: {**view, **({"repairs": self.repairs[name]} if name in self.repairs else {})}
                for name, view in self.progress.regions.items()
            },
            next_poll_at=iso(fire_at),
        )
        yield from self.sleep_until(fire_at)
        try:
            yield from self.call(
                "repair_replication", {"plan": plan_json, "versionId": version_id, "regions": list(regions)}
            )
        except ReplicationFailed as exc:  # e.g. the source changed: the cause is what the user needs to read first
            raise ReplicationFailed(f"{cause}; {exc.message}") from None
        self.publish(message=f"retrying replication in {names} (attempt {decision.attempt} of {decision.allowed})")

    def boot_test(self, plan_json: dict[str, Any], version_id: str) -> Steps:
        """Boot a VM from the version, polling its creation on durable timers; always remove the scratch group."""
        started = yield from self.call(
            "start_boot_test", {"plan": plan_json, "versionId": version_id, "migrationId": self.ctx.instance_id}
        )
        if "vm" not in started:
            if started.get("group"):
                yield from self.call("remove_boot_test", started, cancellable=False)
            return check(name="boot-test", passed=False, reason=str(started.get("error")))
        # The scratch group is removed whatever happens, but not from a ``finally``: the SDK closes the generator
        # after every replay, and a ``yield`` there would run on each close ("generator ignored GeneratorExit").
        try:
            state = yield from self.watch_boot_test(started)
        except Exception as exc:
            yield from self.call("remove_boot_test", started, cancellable=False)
            raise exc from None
        yield from self.call("remove_boot_test", started, cancellable=False)
        return check(name="boot-test", passed=state == "Succeeded", reason=f"boot-test VM provisioning state {state}")

    def watch_boot_test(self, started: dict[str, Any]) -> Steps:
        deadline = self.ctx.current_utc_datetime + BOOT_TEST_TIMEOUT
        state = "Creating"
        while self.ctx.current_utc_datetime < deadline:
            yield from self.sleep_until(self.ctx.current_utc_datetime + BOOT_TEST_POLL)
            state = str((yield from self.call("get_boot_test", started))["state"])
            if state in ("Succeeded", "Failed", "NotFound"):
                break
        return state

    def promote(self, version_id: str, update: dict[str, Any]) -> Steps:
        """Submit the validated version's update (into ``latest``; the deletion block before its end of life), then
        wait on durable timers (cancellable, bounded) until it has taken effect: the first look when Azure's update
        usually ends, later ones after a short backoff. The PATCH and the first look are prepaid by the grant before
        the promotion."""
        payload = {"versionId": version_id, "sourceImageId": self.request.source_image_id, "update": update}
        yield from self.call("promote_image_version", payload, irreversible=True, prepaid=True)
        submitted = self.ctx.current_utc_datetime
        delay, state, looks = timedelta(seconds=self.settings.promotion_first_poll_seconds), "Updating", 0
        while self.ctx.current_utc_datetime - submitted < PROMOTION_TIMEOUT:
            fire_at = self.ctx.current_utc_datetime + delay
            self.publish(message="updating the validated version (latest, safety profile)", next_poll_at=iso(fire_at))
            yield from self.sleep_until(fire_at)
            result = yield from self.call("get_replication_status", {"versionId": version_id}, prepaid=not looks)
            looks += 1
            state = ReplicationSnapshot.model_validate(result).provisioning_state
            if state.lower() == "succeeded":
                self.publish(message="", next_poll_at=None)
                return
            if state.lower() != "updating":
                raise PromotionFailed(f"updating the validated {version_id} failed: its provisioning state is {state}")
            delay = PROMOTION_BACKOFF * 2 ** (looks - 1)
        raise DeadlineExceeded(
            f"updating the validated {version_id} did not finish within {int(PROMOTION_TIMEOUT.total_seconds())} s "
            f"(still {state})"
        )

    def validate(
        self, plan: MigrationPlan, plan_json: dict[str, Any], version_id: str, ensured: dict[str, Any]
    ) -> Steps:
        """The checks, from the replication read that saw the version complete when it carries the version (no request
        of its own), else from the validation activity's fresh read."""
        facts = (self.last_read or {}).get("version")
        if facts:
            snapshot = ReplicationSnapshot.model_validate(self.last_read)
            created = ensured.get("facts")
            definition = DefinitionFacts.model_validate(created) if created else None
            report = report_from_last_read(plan, VersionFacts.model_validate(facts), snapshot, definition)
            return {"checks": [c.model_dump(mode="json") for c in report.checks], "passed": report.passed}
        payload = {"plan": plan_json, "versionId": version_id, "migrationId": self.ctx.instance_id}
        return (yield from self.call("validate_image_version", payload))

    def wait_for_approval(self) -> Steps:
        """True when approved; False when the timeout passes (the source is then kept)."""
        deadline = self.ctx.current_utc_datetime + timedelta(seconds=self.settings.approval_timeout_seconds)
        approve = self.ctx.wait_for_external_event(APPROVE_EVENT)
        while self.ctx.current_utc_datetime < deadline:
            timer = self.ctx.create_timer(min(deadline, self.ctx.current_utc_datetime + MAX_TIMER))
            winner = yield self.ctx.task_any([approve, self.cancel.task, timer])
            self.cancel.resumed_by = winner
            if winner is not timer:
                timer.cancel()
            if winner is self.cancel.task:
                raise Canceled("canceled by request while awaiting approval")
            if winner is approve:
                return True
        return False

    def forget_early_approvals(self) -> None:
        """Drop any approval raised before this point: it was sent before the phase was published (custom status
        changes when this episode ends), so nobody approved what was validated. Our API refuses such approvals;
        the built-in ``raiseEvent`` webhook does not. The SDK keeps an event raised while nobody waits in
        ``deferred_tasks`` (one per name, never removed: one early event completes every later wait for that name,
        Azure/azure-functions-durable-python#507), so forgetting it is the one way to stop it from completing the
        approval wait. Deterministic: replay reaches this point after the same events."""
        self.ctx.deferred_tasks.pop(APPROVE_EVENT, None)

    def peek_hold(self) -> str | None:
        """The reason of a hold raised so far (delivered by the end of the current episode), or None. Read from the
        history: nothing awaits the hold event before this point, so the SDK has not applied it (racing it against
        a timer due now would cost an episode and four history events per migration)."""
        raised = first_raised_by_episode_end(self.ctx, self.cancel.resumed_by, HOLD_EVENT)
        if raised is None:
            return None
        return hold_reason(None if raised.Input is None else json.loads(raised.Input))

    def repoint_scale_sets(self, plan_json: dict[str, Any], version_id: str) -> Steps:
        """Point the model of each scale set still using the source at the validated version (opt-in; never its
        instances). Irreversible, so not started once a cancel is due. What it could not repoint stays a user of
        the source, which the deletion guard then sees and names."""
        if self.cancel.pending():
            raise Canceled("canceled by request")
        self.enter(Phase.REPOINTING)
        result = yield from self.call(
            "repoint_scale_sets",
            {"plan": plan_json, "versionId": version_id, "validationPassed": True},
            irreversible=True,
        )
        reports = [ScaleSetReport.model_validate(r) for r in result["scaleSets"]]
        left = [r for r in reports if r.action != ScaleSetAction.REPOINTED]
        if left:
            self.publish(message="; ".join(f"{r.id.rsplit('/', 1)[-1]} {r.action.value}: {r.reason}" for r in left))
        return reports

    def record(self, status: MigrationStatus, *, prepaid: bool = False, **fields: Any) -> Steps:
        payload = {
            "sourceImageId": self.request.source_image_id,
            "migrationId": self.ctx.instance_id,
            "requestHash": self.request.request_hash,
            "status": status.value,
            **fields,
        }
        try:
            yield from self.call("record_status", payload, cancellable=False, prepaid=prepaid)
        except Exception as exc:  # the outcome stands even if the tags cannot be written
            self.publish(message=f"could not write status tags: {getattr(exc, 'message', None) or exc}")

    def execute(self) -> Steps:
        request, settings = self.request, self.settings
        outcome = MigrationOutcome(outcome=Outcome.SUCCEEDED, phase=Phase.DONE, source_image_id=request.source_image_id)
        plan: MigrationPlan | None = None
        version_id: str | None = None
        validated = False
        provenance_written, record_prepaid, deleting = False, False, False
        self.publish()
        try:
            # One grant for the first burst of requests (preflight, definition, version) and a poll lease.
            yield from self.acquire(*FIRST_BURST, lease=True)
            preflight = {"request": request.model_dump(mode="json"), "migrationId": self.ctx.instance_id}
            known = self.known_facts()
            result = yield from self.call(
                "run_preflight", {**preflight, **({"known": known} if known else {})}, prepaid=True
            )
            plan = MigrationPlan.model_validate(result)
            outcome.definition_id, outcome.notes = plan.definition_id, plan.notes
            self.publish(definition_id=plan.definition_id, version_id=plan.version_id or None, notes=plan.notes)
            failure = plan.failure()
            if failure is not None:
                raise error_for_code(*failure)
            plan_json = plan.model_dump(mode="json")

            self.enter(Phase.DEFINITION)
            ensured = yield from self.call("ensure_image_definition", {"plan": plan_json}, prepaid=True)

            self.enter(Phase.VERSION)
            assert plan.source is not None  # preflight passed
            provenance = {
                "migration-id": self.ctx.instance_id,
                "migration-source-id": request.source_image_id[:256],
                "migration-source-name": plan.source.name[:256],
            }
            submission = {"plan": plan_json, "provenance": provenance, "fresh": bool(ensured.get("created"))}
            submitted = yield from self.call("submit_image_version", submission, prepaid=True)
            version_id = str(submitted["versionId"])
            outcome.version_id = version_id

            self.enter(Phase.REPLICATING)
            replicas = {region.name: region.replica_count for region in plan.target_regions}
            snapshot = yield from self.wait_for_replication(plan_json, version_id, replicas)
            outcome.regions = {r.region: r.state for r in snapshot.regions}

            self.enter(Phase.VALIDATING)
            report = yield from self.validate(plan, plan_json, version_id, ensured)
            outcome.validation = [Check.model_validate(c) for c in report["checks"]]
            if report["passed"] and request.boot_test:
                check = yield from self.boot_test(plan_json, version_id)
                outcome.validation.append(check)
                report["passed"] = check.passed
            if not report["passed"]:
                reasons = "; ".join(f"{c.name}: {c.reason}" for c in outcome.validation if not c.passed)
                raise ValidationFailed(reasons)
            validated = True
            # One grant for the rest (promotion and its look, deletion, the status record), giving back the lease;
            # a deletion that waits for approval asks again once approved.
            expected_gate, _ = deletion_gate(request, self.peek_hold() if holdable(request) else None)
            deleting = request.deletion_mode != DeletionMode.NEVER and not expected_gate
            update = validated_update(request)
            promoting = ("promote_image_version", "get_replication_status") if update else ()
            yield from self.acquire(*promoting, *(("delete_source_image",) if deleting else ()), "record_status")
            record_prepaid = True
            if update:
                yield from self.promote(version_id, update)

            approved = False
            held = self.peek_hold() if holdable(request) else None
            needs_approval, why = deletion_gate(request, held)
            if needs_approval:
                self.enter(Phase.AWAITING_APPROVAL, message=why)
                self.forget_early_approvals()
                yield from self.record(
                    MigrationStatus.AWAITING_APPROVAL, versionId=version_id, reason=why or None, prepaid=record_prepaid
                )
                record_prepaid = False
                approved = yield from self.wait_for_approval()
                if approved:
                    yield from self.acquire("delete_source_image", "record_status")
                    record_prepaid, deleting = True, True

            if request.repoint_scale_sets and (approved or not needs_approval):
                outcome.scale_sets = yield from self.repoint_scale_sets(plan_json, version_id)

            if request.deletion_mode == DeletionMode.NEVER:
                outcome.source_kept_reason = "deletion mode is 'never'"
            elif needs_approval and not approved:
                outcome.source_kept_reason = f"no approval within {settings.approval_timeout_seconds} s" + (
                    f" ({why})" if why else ""
                )
            else:
                if self.cancel.pending():  # e.g. an approval and a cancel delivered in one episode
                    raise Canceled("canceled by request")
                self.enter(Phase.DELETING_SOURCE)
                try:
                    deletion = yield from self.call(
                        "delete_source_image",
                        {
                            "plan": plan_json,
                            "versionId": version_id,
                            "runId": self.run_id,
                            "validationPassed": validated,
                            "approved": approved,
                            "provenance": {"migration-validated": "true", "migration-source-deleted": "true"},
                        },
                        irreversible=True,
                        prepaid=deleting,
                    )
                    outcome.source_deleted = bool(deletion["deleted"])
                    outcome.source_kept_reason = deletion["reason"] or None
                    provenance_written = outcome.source_deleted and bool(deletion.get("provenanceWritten"))
                except PermissionDenied as exc:
                    outcome.source_kept_reason = f"permission denied: {exc.message}"
            self.enter(Phase.DONE)
        except Canceled as exc:
            outcome.outcome, outcome.error = Outcome.CANCELED, ErrorInfo(code=exc.code, message=exc.message)
            outcome.phase = self.progress.phase
            outcome.source_kept_reason = "the migration was canceled"
            landed = exc.landed if isinstance(exc.landed, dict) else {}
            if outcome.phase == Phase.VERSION and landed.get("versionId"):
                version_id = outcome.version_id = str(landed["versionId"])  # created meanwhile: clean it up
            if outcome.phase == Phase.DELETING_SOURCE and landed.get("deleted"):  # pragma: no cover - guarded
                outcome.source_deleted, outcome.source_kept_reason = True, None
            self.enter(Phase.CANCELED)
        except Exception as exc:  # a domain error, or anything unexpected (a bug): end failed, bookkeeping done
            error = exc if isinstance(exc, MigrationError) else UnexpectedError(f"{type(exc).__name__}: {exc}")
            outcome.outcome, outcome.error = Outcome.FAILED, ErrorInfo(code=error.code, message=error.message)
            outcome.phase = self.progress.phase
            outcome.source_kept_reason = "the migration failed"
            self.enter(Phase.FAILED, message=error.message)

        self.release_lease()
        if version_id and not validated and outcome.outcome != Outcome.SUCCEEDED and settings.delete_failed_version:
            outcome.version_removed, outcome.version_kept_reason = yield from self.remove_version(version_id)

        outcome.repairs = dict(self.repairs)
        outcome.phase_seconds = dict(self.phase_seconds)
        outcome.started_at, outcome.finished_at = iso(self.started), iso(self.ctx.current_utc_datetime)
        if outcome.outcome == Outcome.SUCCEEDED and provenance_written:
            # The image is gone (no status tags to write) and the version got its provenance before the delete.
            return outcome.model_dump(mode="json", by_alias=True)
        yield from self.record(
            MigrationStatus(outcome.outcome.value),
            prepaid=record_prepaid and outcome.outcome == Outcome.SUCCEEDED,
            sourceDeleted=outcome.source_deleted,
            versionId=version_id if not outcome.version_removed else None,
            reason=(outcome.error.message if outcome.error else outcome.source_kept_reason),
            provenance=(
                {
                    "migration-validated": str(validated).lower(),
                    "migration-source-deleted": str(outcome.source_deleted).lower(),
                }
                if version_id and not outcome.version_removed
                else None
            ),
        )
        return outcome.model_dump(mode="json", by_alias=True)

    def remove_version(self, version_id: str) -> Steps:
        """(removed, why not): the version's safety profile and Azure's refusals are answers, not errors."""
        try:
            removed = yield from self.call("delete_image_version", {"versionId": version_id}, cancellable=False)
        except Exception as exc:  # the outcome stands; the reason says what is left behind
            reason = f"could not remove the failed version: {getattr(exc, 'message', None) or exc}"
            self.publish(message=reason)
            return False, reason
        kept = str(removed.get("reason") or "")
        if kept:
            self.publish(message=f"the failed version stays: {kept}")
        return bool(removed["deleted"]), kept or None


@bp.orchestration_trigger(context_name="context")
def migrate_image(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    run = MigrationRun(
        context,
        MigrationRequest.model_validate(data["request"]),
        Settings.model_validate(data["settings"]),
        run_id=data.get("runId"),
        known=data.get("known"),
    )
    return (yield from run.execute())
