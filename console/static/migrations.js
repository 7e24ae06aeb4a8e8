// Migrations: a filterable, sortable list (image, gallery, phase, outcome, age, reason), live.

import { callList, settleAnswer } from "./api.js";
import { ageSeconds, fill, h, seconds } from "./dom.js";
import { OUTCOMES, PHASES, clockNow, migrationRow } from "./model.js";

const COLUMNS = [
  { key: "image", label: "Image" },
  { key: "gallery", label: "Gallery" },
  { key: "phase", label: "Phase" },
  { key: "outcome", label: "Outcome" },
  { key: "age", label: "Age" },
  { key: "reason", label: "Reason" },
];

export class MigrationsView {
  constructor(app) {
    this.app = app;
    this.rows = [];
    this.lastText = null;
    this.sort = { key: "age", ascending: true };
    this.filter = { text: "", phase: "", outcome: "" };
  }

  mount(main) {
    this.search = h("input", { id: "filter-text", type: "search", placeholder: "image, gallery or reason" });
    this.phase = h("select", { id: "filter-phase" }, h("option", { value: "" }, "any phase"),
      [...PHASES, "failed", "canceled"].map((p) => h("option", { value: p }, p)));
    this.outcome = h("select", { id: "filter-outcome" }, h("option", { value: "" }, "any outcome"),
      OUTCOMES.map((o) => h("option", { value: o }, o)));
    for (const control of [this.search, this.phase, this.outcome]) {
      control.addEventListener("input", () => this.readFilter());
    }
    this.count = h("p", { id: "migration-count", role: "status" });
    this.head = h("tr");
    this.body = h("tbody", { id: "migration-rows" });
    this.problem = h("div", { class: "problem", role: "alert", hidden: true });
    fill(
      main,
      h("h2", {}, "Migrations"),
      h("form", { class: "filters", role: "search", "aria-label": "Filter migrations", on: { submit: (e) => e.preventDefault() } },
        h("div", { class: "field" }, h("label", { for: "filter-text" }, "Filter"), this.search),
        h("div", { class: "field" }, h("label", { for: "filter-phase" }, "Phase"), this.phase),
        h("div", { class: "field" }, h("label", { for: "filter-outcome" }, "Outcome"), this.outcome)),
      this.count,
      this.problem,
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Migrations table" },
        h("table", { id: "migrations" }, h("caption", { class: "visually-hidden" }, "Migrations, newest first"),
          h("thead", {}, this.head), this.body)),
    );
    this.renderHead();
  }

  readFilter() {
    this.filter = { text: this.search.value.trim().toLowerCase(), phase: this.phase.value, outcome: this.outcome.value };
    this.render();
  }

  renderHead() {
    fill(this.head, COLUMNS.map((column) => {
      const sorted = this.sort.key === column.key;
      const direction = sorted ? (this.sort.ascending ? "ascending" : "descending") : null;
      return h("th", { scope: "col", "aria-sort": direction || "none" },
        h("button", { type: "button", class: "sort", "data-key": column.key, on: { click: () => this.sortBy(column.key) } },
          column.label, h("span", { "aria-hidden": "true" }, sorted ? (this.sort.ascending ? " ▲" : " ▼") : "")));
    }));
  }

  sortBy(key) {
    this.sort = { key, ascending: this.sort.key === key ? !this.sort.ascending : true };
    this.renderHead();
    this.render();
    this.head.querySelector(`button[data-key="${key}"]`)?.focus();
  }

  async refresh() {
    const answer = await callList("/migrations");
    const changed = settleAnswer(this, answer);
    if (changed === null) return false;
    if (changed) this.rows = answer.items.map(migrationRow);
    this.app.setApprovals(this.rows.filter((row) => row.awaitingApproval).length);
    this.render(); // ages move on even when nothing else changed
    return changed;
  }

  visibleRows() {
    const { text, phase, outcome } = this.filter;
    const now = clockNow(this.rows.map((row) => row.updated));
    const rows = this.rows
      .filter((row) => !phase || row.phase === phase)
      .filter((row) => !outcome || row.outcome === outcome)
      .filter((row) => !text || `${row.image} ${row.gallery} ${row.reason} ${row.id}`.toLowerCase().includes(text))
      .map((row) => ({ ...row, age: ageSeconds(row.created, now) }));
    const { key, ascending } = this.sort;
    const value = (row) => (key === "phase" ? PHASES.indexOf(row.phase) : row[key] ?? "");
    rows.sort((a, b) => {
      const x = value(a), y = value(b);
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    return rows;
  }

  render() {
    const started = performance.now();
    const rows = this.visibleRows();
    const fragment = document.createDocumentFragment();
    for (const row of rows) {
      fragment.append(h("tr", { "data-id": row.id, "data-phase": row.phase, "data-outcome": row.outcome },
        h("td", {}, h("a", { href: `#/migrations/${encodeURIComponent(row.id)}`, title: row.imageId }, row.image)),
        h("td", {}, row.gallery || "–"),
        h("td", {}, h("span", { class: `phase phase-${row.phase}` }, row.phase)),
        h("td", {}, h("span", { class: `outcome outcome-${row.outcome}` }, row.outcome)),
        h("td", { class: "num" }, row.age === null ? "" : seconds(row.age)),
        h("td", { class: "reason" }, row.reason)));
    }
    if (!rows.length) {
      fragment.append(h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty" },
        this.rows.length ? "No migration matches the filter." : "No migrations yet. Tag an image or start a batch.")));
    }
    this.body.replaceChildren(fragment);
    fill(this.count, `${rows.length} of ${this.rows.length} migrations`);
    performance.measure("console:render-migrations", { start: started, end: performance.now() });
  }
}
