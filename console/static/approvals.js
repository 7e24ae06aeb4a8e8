// Approvals waiting: every running migration in the awaiting-approval phase, with approve and cancel.

import { approve, cancel } from "./actions.js";
import { callList, settleAnswer } from "./api.js";
import { ageSeconds, fill, h, seconds } from "./dom.js";
import { clockNow, migrationRow } from "./model.js";

export class ApprovalsView {
  constructor(app) {
    this.app = app;
    this.lastText = null;
  }

  mount(main) {
    this.list = h("div", { id: "approvals" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    fill(main, h("h2", {}, "Approvals waiting"),
      h("p", { class: "note" }, "Migrations in after-approval mode wait here before deleting their source image. " +
        "Approving lets the migration delete the managed image once every guard holds; canceling keeps it."),
      this.problem, this.list);
  }

  async refresh() {
    const answer = await callList("/migrations?status=Running,Pending");
    const changed = settleAnswer(this, answer);
    if (changed === null) return false;
    const summaries = answer.items;
    const waiting = summaries.map((s) => ({ row: migrationRow(s), summary: s })).filter((x) => x.row.awaitingApproval);
    this.app.setApprovals(waiting.length);
    if (changed) this.render(waiting);
    return changed;
  }

  render(waiting) {
    if (!waiting.length) {
      fill(this.list, h("p", { class: "empty" }, "Nothing is waiting for an approval."));
      return;
    }
    const now = clockNow(waiting.map((x) => x.row.updated));
    fill(this.list, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Approvals table" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Migrations waiting for an approval"),
      h("thead", {}, h("tr", {}, ["Image", "Gallery", "Version", "Waiting", "Decision"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, waiting.map(({ row, summary }) => h("tr", { "data-id": row.id },
        h("td", {}, h("a", { href: `#/migrations/${encodeURIComponent(row.id)}`, title: row.imageId }, row.image)),
        h("td", {}, row.gallery || "–"),
        h("td", {}, h("code", {}, String(summary.versionId || "–"))),
        h("td", { class: "num" }, summary.phaseStartedAt ? seconds(ageSeconds(summary.phaseStartedAt, now)) : ""),
        h("td", { class: "decision" },
          h("button", { type: "button", class: "primary", "aria-label": `Approve deleting ${row.image}`,
            on: { click: () => approve(row, (note) => this.app.done(note)) } }, "Approve…"),
          " ",
          h("button", { type: "button", class: "danger", "aria-label": `Cancel migrating ${row.image}`,
            on: { click: () => cancel(row, (note) => this.app.done(note)) } }, "Cancel…"))))))));
  }
}
