// Batches: counts per state and outcome, progress, running migrations and their phases, report download.

import { cancelBatch } from "./actions.js";
import { call, callList, problemView, settleAnswer } from "./api.js";
import { fill, h, time } from "./dom.js";
import { ACTIVE, BATCH_STATES, batchProgress } from "./model.js";

function progressBar(id, counts, label) {
  const { total, done, percent } = batchProgress(counts || {});
  return [
    h("progress", { id, max: "100", value: String(percent), "aria-label": label, "aria-valuetext": `${done} of ${total} finished` }),
    h("span", { class: "region-figures" }, ` ${done} of ${total} finished`),
  ];
}

function countsList(counts, id) {
  return h("dl", { class: "counts", id }, BATCH_STATES.filter((k) => k in (counts || {})).concat(["total"]).map((key) => [
    h("dt", {}, key), h("dd", { "data-key": key }, String(counts?.[key] ?? 0)),
  ]));
}

export class BatchesView {
  constructor(app) {
    this.app = app;
    this.lastText = null;
  }

  mount(main) {
    this.body = h("div", { id: "batches" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    fill(main, h("h2", {}, "Batches"), h("p", {}, h("a", { href: "#/plan" }, "Plan a new batch")), this.problem, this.body);
  }

  async refresh() {
    const answer = await callList("/batches");
    const changed = settleAnswer(this, answer);
    if (changed === null) return false;
    if (changed) this.render(answer.items);
    return changed;
  }

  render(batches) {
    if (!batches.length) {
      fill(this.body, h("p", { class: "empty" }, "No batches yet."));
      return;
    }
    fill(this.body, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Batches table" },
      h("table", {}, h("caption", { class: "visually-hidden" }, "Batches, newest first"),
        h("thead", {}, h("tr", {}, ["Batch", "Status", "Started", "Progress", "Succeeded", "Failed", "Canceled", "Skipped"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, batches.map((b) => h("tr", { "data-id": b.id },
          h("td", {}, h("a", { href: `#/batches/${encodeURIComponent(b.id)}` }, String(b.id))),
          h("td", {}, String(b.status || "")),
          h("td", {}, time(b.createdTime)),
          h("td", { class: "progress-cell" }, progressBar(`progress-${b.id}`, b.counts, `Progress of ${b.id}`)),
          ["succeeded", "failed", "canceled", "skipped"].map((k) => h("td", { class: "num" }, String(b.counts?.[k] ?? 0)))))))));
  }
}

export class BatchView {
  constructor(app, id) {
    this.app = app;
    this.id = id;
    this.lastText = null;
    this.summary = null;
  }

  mount(main) {
    this.head = h("div", { id: "batch-head" });
    this.cancelButton = h("button", { type: "button", id: "cancel-batch", class: "danger", hidden: true,
      on: { click: () => cancelBatch(this.id, (this.summary?.running || []).length, (note) => this.app.done(note)) } },
      "Cancel batch…");
    this.reportJson = h("button", { type: "button", id: "report-json", on: { click: () => this.download("json") } }, "Download report (JSON)");
    this.reportCsv = h("button", { type: "button", id: "report-csv", on: { click: () => this.download("csv") } }, "Download report (CSV)");
    this.reportNote = h("div", { id: "report-note", role: "status" });
    this.running = h("div", { id: "batch-running" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    fill(main, h("p", {}, h("a", { href: "#/batches" }, "← All batches")), h("h2", {}, `Batch ${this.id}`), this.problem,
      this.head, h("div", { class: "actions" }, this.cancelButton, this.reportJson, this.reportCsv), this.reportNote,
      h("section", { class: "panel", "aria-labelledby": "running-title" }, h("h3", { id: "running-title" }, "Running now"), this.running));
  }

  async refresh() {
    const answer = await call("GET", `/batches/${encodeURIComponent(this.id)}`);
    const changed = settleAnswer(this, answer);
    if (changed === null) return false;
    if (changed) this.render((this.summary = answer.body || {}));
    return changed;
  }

  render(b) {
    const active = ACTIVE.has(b.runtimeStatus);
    this.cancelButton.hidden = !active;
    const phases = (map) => Object.entries(map || {}).map(([phase, n]) => `${phase}: ${n}`).join(", ") || "–";
    fill(this.head,
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "batch-status" }, String(b.status || "")),
        h("dt", {}, "Started"), h("dd", {}, time(b.createdTime)),
        h("dt", {}, "At most at once"), h("dd", {}, String(b.maxConcurrency ?? "–")),
        h("dt", {}, "Progress"), h("dd", {}, progressBar("batch-progress", b.counts, "Batch progress")),
        h("dt", {}, "Running by phase"), h("dd", { id: "running-by-phase" }, phases(b.runningByPhase)),
        b.waitingForArmBudget ? [h("dt", {}, "Waiting for ARM budget"),
          h("dd", { id: "waiting-for-budget" }, `${b.waitingForArmBudget} of the running`)] : null,
        b.message ? [h("dt", {}, "Listing"), h("dd", { id: "batch-message" }, String(b.message))] : null,
        h("dt", {}, "Finished by phase"), h("dd", { id: "finished-by-phase" }, phases(b.finishedByPhase)),
        b.error ? [h("dt", {}, "Error"), h("dd", {}, `${b.error.code}: ${b.error.message}`)] : null),
      h("h3", {}, "Images per state"), countsList(b.counts, "batch-counts"));
    const running = Array.isArray(b.running) ? b.running : [];
    const omitted = Number(b.runningOmitted || 0); // the API lists the first running ones and counts the rest
    fill(this.running, running.length
      ? [h("ul", { class: "running" }, running.map((r) => h("li", {},
          h("a", { href: `#/migrations/${encodeURIComponent(String(r.id))}` }, String(r.id)), " · ",
          h("span", { class: `phase phase-${r.phase}` }, String(r.phase)),
          r.waiting ? [" · ", h("span", { class: "waiting" }, String(r.waiting))] : null))),
        omitted ? h("p", { class: "note", id: "running-omitted" }, `and ${omitted} more running`) : null]
      : h("p", { class: "note" }, active ? "None at the moment." : "The batch has ended."));
  }

  /**
   * Fetch the report with the key (a plain link cannot send the header), every page of it (the API pages it: JSON
   * with `continuationToken`, CSV with a `Link: <...>; rel="next"` header whose pages continue one table), and hand
   * it to the browser as one file.
   */
  async download(format) {
    const base = `/batches/${encodeURIComponent(this.id)}/report?top=1000${format === "csv" ? "&format=csv" : ""}`;
    const texts = [];
    const images = [];
    let answer = await call("GET", base);
    for (;;) {
      if (!answer.ok) {
        fill(this.reportNote, h("div", { class: "problem" }, problemView(answer.problem)));
        return;
      }
      texts.push(answer.text);
      images.push(...(answer.body?.images || []));
      const token = format === "csv" ? nextToken(answer.headers.get("link")) : answer.body?.continuationToken;
      if (!token) break;
      answer = await call("GET", `${base}&continuationToken=${encodeURIComponent(token)}`);
    }
    const text = format === "csv" ? texts.join("") : JSON.stringify({ ...answer.body, images, count: images.length });
    fill(this.reportNote, `Report downloaded (${format.toUpperCase()}).`);
    const type = format === "csv" ? "text/csv" : "application/json";
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = h("a", { href: url, download: `${this.id}.${format}`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

/** The `continuationToken` of a `Link: <url>; rel="next"` header, or null. */
function nextToken(link) {
  const match = /<([^>]+)>\s*;\s*rel="next"/.exec(link || "");
  return match ? new URL(match[1], window.location.href).searchParams.get("continuationToken") : null;
}
