// The console's shell: hash routes (#/migrations, #/migrations/{id}, #/approvals, #/batches, #/batches/{id},
// #/plan), the live status line, and the refresher that keeps the current view up to date.

import { forgetKey, askForKey, currentKey } from "./api.js";
import { ApprovalsView } from "./approvals.js";
import { BatchView, BatchesView } from "./batches.js";
import { byId, fill, h } from "./dom.js";
import { Refresher } from "./live.js";
import { MigrationView } from "./migration.js";
import { MigrationsView } from "./migrations.js";
import { PlanView } from "./plan.js";

const ROUTES = [
  [/^#\/migrations\/(.+)$/, (app, id) => new MigrationView(app, id), "migrations"],
  [/^#\/approvals$/, (app) => new ApprovalsView(app), "approvals"],
  [/^#\/batches\/(.+)$/, (app, id) => new BatchView(app, id), "batches"],
  [/^#\/batches$/, (app) => new BatchesView(app), "batches"],
  [/^#\/plan$/, (app) => new PlanView(app), "plan"],
  [/^#\/migrations$|^#?\/?$/, (app) => new MigrationsView(app), "migrations"],
];

class App {
  constructor() {
    this.main = byId("main");
    this.view = null;
    this.notice = h("p", { id: "notice", role: "status", class: "notice", hidden: true });
    this.refresher = new Refresher(() => (this.view ? this.view.refresh() : Promise.resolve(false)), (s) => this.report(s));
    window.addEventListener("hashchange", () => this.route());
    // The skip link moves the focus only: following its "#main" would change the route (the hash is the route)
    // and re-mount the view, losing its sorting, filters and focus.
    document.querySelector(".skip-link")?.addEventListener("click", (event) => {
      event.preventDefault();
      this.main.focus();
    });
    byId("refresh-now").addEventListener("click", () => this.refresher.now());
    byId("forget-key").addEventListener("click", () => {
      forgetKey();
      askForKey().then(() => this.refresher.now());
    });
  }

  async start() {
    if (!currentKey()) await askForKey();
    this.route();
  }

  route() {
    const hash = location.hash || "#/migrations";
    for (const [pattern, make, section] of ROUTES) {
      const match = pattern.exec(hash);
      if (!match) continue;
      this.view = make(this, match[1] ? decodeURIComponent(match[1]) : undefined);
      this.main.replaceChildren(this.notice);
      const holder = h("div", { class: "view" });
      this.main.append(holder);
      this.view.mount(holder);
      for (const link of document.querySelectorAll("nav.views a")) {
        link.setAttribute("aria-current", link.dataset.view === section ? "page" : "false");
      }
      document.title = `${holder.querySelector("h2")?.textContent || "Console"} · Image migrations`;
      this.refresher.now();
      return;
    }
    location.hash = "#/migrations";
  }

  /** After an accepted action: say so, and refresh at once from the short interval. */
  done(note) {
    this.notice.hidden = false;
    fill(this.notice, note);
    this.refresher.now();
  }

  setApprovals(count) {
    const badge = byId("approval-count");
    badge.hidden = !count;
    fill(badge, count ? String(count) : "");
    badge.setAttribute("aria-label", `${count} waiting`);
  }

  report({ paused, lastAt, nextMs, error }) {
    const status = byId("live-status");
    const at = lastAt ? lastAt.toLocaleTimeString() : "never";
    if (paused) fill(status, `Paused while this tab is hidden · updated ${at}`);
    else if (error) fill(status, `Could not refresh (${error}) · retrying in ${Math.round(nextMs / 1000)} s`);
    else fill(status, `Updated ${at} · next in ${Math.round(nextMs / 1000)} s`);
    status.dataset.nextMs = String(Math.round(nextMs || 0));
  }
}

new App().start();
