// One migration: phase timeline with durations, per-region replication, validation, provenance, the source's
// fate and why, the Durable status endpoints (without their key), approve and cancel.

import { approve, cancel } from "./actions.js";
import { call, settleAnswer } from "./api.js";
import { ageSeconds, fill, h, seconds, time, withoutKey } from "./dom.js";
import { PHASES, clockNow, migrationRow } from "./model.js";

export class MigrationView {
  constructor(app, id) {
    this.app = app;
    this.id = id;
    this.lastText = null;
    this.row = null;
  }

  mount(main) {
    const section = (id, title, ...rest) =>
      h("section", { class: "panel", "aria-labelledby": `${id}-title` }, h("h3", { id: `${id}-title` }, title), ...rest);
    this.title = h("h2", { id: "migration-title" }, this.id);
    this.facts = h("dl", { class: "facts", id: "migration-facts" });
    this.approveButton = h("button", { type: "button", id: "approve", class: "primary", hidden: true,
      on: { click: () => approve(this.row, (note) => this.app.done(note)) } }, "Approve source deletion…");
    this.cancelButton = h("button", { type: "button", id: "cancel", class: "danger", hidden: true,
      on: { click: () => cancel(this.row, (note) => this.app.done(note)) } }, "Cancel migration…");
    this.actionNote = h("p", { class: "note", id: "action-note" });
    this.timeline = h("ol", { class: "timeline", id: "timeline" });
    this.regions = h("div", { id: "regions", class: "regions" });
    this.checks = h("div", { id: "checks" });
    this.provenance = h("dl", { class: "facts", id: "provenance" });
    this.fate = h("p", { id: "source-fate" });
    this.links = h("ul", { id: "durable-links", class: "links" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    fill(
      main,
      h("p", {}, h("a", { href: "#/migrations" }, "← All migrations")),
      this.title,
      this.problem,
      this.facts,
      h("div", { class: "actions" }, this.approveButton, this.cancelButton, this.actionNote),
      h("div", { class: "grid" },
        section("phases", "Phases", this.timeline),
        section("replication", "Replication by region", this.regions),
        section("validation", "Validation checks", this.checks),
        section("source", "Source image", this.fate),
        section("provenance-s", "Provenance", this.provenance),
        section("links", "Durable status endpoints", this.links,
          h("p", { class: "note" }, "These need the Durable Functions system key (not shown here)."))),
    );
  }

  async refresh() {
    const answer = await call("GET", `/migrations/${encodeURIComponent(this.id)}`);
    const changed = settleAnswer(this, answer);
    if (changed === null) return false;
    this.render(answer.body || {});
    return changed;
  }

  render(summary) {
    const row = (this.row = migrationRow(summary));
    const result = summary.result && typeof summary.result === "object" ? summary.result : null;
    fill(this.title, row.image);
    const fact = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
    fill(this.facts,
      fact("Migration", h("code", {}, row.id)),
      fact("Phase", h("span", { class: `phase phase-${row.phase}` }, row.phase)),
      fact("Outcome", h("span", { class: `outcome outcome-${row.outcome}` }, row.outcome)),
      fact("Runtime status", String(summary.runtimeStatus || "")),
      fact("Started", time(summary.createdTime)),
      row.reason ? fact(summary.error ? "Error" : "Message",
        summary.error ? `${summary.error.code}: ${summary.error.message}` : row.reason) : null);

    // Approve only what was validated: the API refuses an approval before the awaiting-approval phase.
    this.approveButton.hidden = !row.awaitingApproval;
    this.cancelButton.hidden = !row.active;
    fill(this.actionNote, row.active
      ? (row.awaitingApproval ? "Waiting for your approval to delete the source image." : "")
      : "This migration has ended: there is nothing to approve or cancel.");

    this.renderTimeline(summary, result);
    this.renderRegions(summary);
    this.renderChecks(result);
    this.renderFate(summary, result, row);
    fill(this.provenance,
      fact("Source image", h("code", {}, String(summary.sourceImageId || result?.sourceImageId || "–"))),
      fact("Definition", h("code", {}, String(summary.definitionId || result?.definitionId || "–"))),
      fact("Version", h("code", {}, String(summary.versionId || result?.versionId || "–"))));
    const links = summary.links && typeof summary.links === "object" ? summary.links : {};
    fill(this.links, Object.entries(links).filter(([name]) => name !== "id").map(([name, url]) => {
      const clean = withoutKey(String(url));
      return h("li", {}, h("span", { class: "link-name" }, name), " ", h("a", { href: clean, rel: "noreferrer" }, clean));
    }));
  }

  renderTimeline(summary, result) {
    const spent = (result && result.phaseSeconds) || {};
    const reached = String(summary.phase || "");
    const at = PHASES.indexOf(reached);
    const active = this.row.active;
    fill(this.timeline, PHASES.map((phase, index) => {
      let state;
      if (active) state = index < at ? "done" : index === at ? "current" : "pending";
      else if (phase === reached) state = phase === "done" ? "done" : "stopped";
      else state = phase in spent ? "done" : "skipped";
      let duration = "";
      if (phase in spent) duration = seconds(spent[phase]);
      else if (state === "current" && summary.phaseStartedAt) {
        duration = `${seconds(ageSeconds(summary.phaseStartedAt, clockNow([summary.lastUpdatedTime])))} so far`;
      }
      return h("li", { "data-phase": phase, "data-state": state, "aria-current": state === "current" ? "step" : null },
        h("span", { class: "step" }, phase), h("span", { class: "state" }, ` ${state}`),
        duration ? h("span", { class: "duration" }, ` · ${duration}`) : null);
    }));
  }

  renderRegions(summary) {
    const regions = summary.regions && typeof summary.regions === "object" ? Object.entries(summary.regions) : [];
    if (!regions.length) {
      fill(this.regions, h("p", { class: "note" }, "Replication has not started yet."));
      return;
    }
    fill(this.regions, regions.map(([name, info]) => {
      const state = String(info?.state || "Unknown");
      const progress = state.toLowerCase() === "completed" ? 100 : Math.max(0, Math.min(100, Number(info?.progress || 0)));
      const replicas = info?.replicaCount ? `${info.replicaCount} replica${info.replicaCount === 1 ? "" : "s"}` : "";
      const id = `region-${name}`;
      return h("div", { class: "region", "data-region": name, "data-state": state },
        h("label", { for: id }, name),
        h("progress", { id, max: "100", value: String(progress), "aria-valuetext": `${progress}% ${state}` }),
        h("span", { class: "region-figures" }, `${progress}% · ${state}${replicas ? ` · ${replicas}` : ""}`));
    }));
  }

  renderChecks(result) {
    const checks = (result && Array.isArray(result.validation) && result.validation) || [];
    if (!checks.length) {
      fill(this.checks, h("p", { class: "note" }, result ? "No validation ran." : "Validation runs after replication."));
      return;
    }
    fill(this.checks, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Validation checks" }, h("table", { class: "checks" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Check"), h("th", { scope: "col" }, "Result"), h("th", { scope: "col" }, "Reason"))),
      h("tbody", {}, checks.map((check) => h("tr", { "data-state": check.passed ? "passed" : "failed" },
        h("td", {}, String(check.name || "")),
        h("td", {}, check.passed ? "passed" : "failed"),
        h("td", {}, String(check.reason || ""))))))));
  }

  renderFate(summary, result, row) {
    let text;
    if (result) {
      text = result.sourceDeleted
        ? "Deleted: the version was validated in every region and every deletion guard held."
        : `Kept: ${result.sourceKeptReason || (result.error ? result.error.message : "the migration did not finish")}`;
    } else if (row.active) {
      text = row.awaitingApproval
        ? "Kept for now: deleting it waits for an approval (or is skipped when the approval times out)."
        : "Kept for now: a source is deleted only after validation in every region, if its deletion mode allows it.";
    } else {
      text = "Kept: the migration ended without a result.";
    }
    fill(this.fate, text);
  }
}
