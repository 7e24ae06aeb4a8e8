// Plan preview: a scope and filters -> the predicted outcome per image (POST /api/plans, reads only), then start
// the batch with the same body (POST /api/batches) behind a confirmation.

import { confirmAndSend } from "./actions.js";
import { call, problemView } from "./api.js";
import { fill, h } from "./dom.js";

const lines = (text) => text.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean);

/** "westus2=2;eastus" -> [{name: "westus2", replicaCount: 2}, {name: "eastus"}]; a count that is not a number is
 * passed on as written, so the API names the field it refuses. */
export function parseRegions(text) {
  return text.split(/[;,]/).map((s) => s.trim()).filter(Boolean).map((part) => {
    const [name, count] = part.split("=").map((s) => s.trim());
    if (count === undefined || count === "") return { name };
    return { name, replicaCount: /^\d+$/.test(count) ? Number(count) : count };
  });
}

const FATE = {
  "after-validation": "each source image is deleted once its version is validated in every region and nothing uses it",
  "after-approval": "each source image waits for your approval before it is deleted",
  never: "every source image is kept",
  "": "each source image follows the app's default deletion mode (DEFAULT_DELETION_MODE)",
};


/** "Planning… 40 of 130 images planned · waiting for ARM budget until …" from a running plan's progress. */
function planning(progress) {
  const p = progress || {};
  const counted = p.images ? ` ${Number(p.planned || 0)} of ${Number(p.images)} images planned`
    : p.state ? ` (${String(p.state)})` : "";
  return `Planning…${counted}${p.message ? ` · ${String(p.message)}` : ""}`;
}

export class PlanView {
  constructor(app) {
    this.app = app;
    this.body = null;
    this.plan = null;
  }

  mount(main) {
    const field = (id, label, control, hint) => h("div", { class: "field" }, h("label", { for: id }, label), control,
      hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null);
    const input = (id, attrs = {}) => h("input", { id, name: id, type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
    this.controls = {
      resourceGroups: h("textarea", { id: "scope-groups", rows: "2", spellcheck: "false" }),
      subscriptions: h("textarea", { id: "scope-subscriptions", rows: "1", spellcheck: "false" }),
      namePattern: input("filter-name", { placeholder: "web-*" }),
      osType: h("select", { id: "filter-os" }, h("option", { value: "" }, "any"), h("option", { value: "Linux" }, "Linux"),
        h("option", { value: "Windows" }, "Windows")),
      tagsPresent: input("filter-tags-present", { placeholder: "team=web" }),
      tagsAbsent: input("filter-tags-absent", { placeholder: "do-not-migrate" }),
      galleryId: input("option-gallery"),
      targetRegions: input("option-regions", { placeholder: "westus2=2;eastus=1" }),
      deletionMode: h("select", { id: "option-deletion" }, h("option", { value: "" }, "app default"),
        ["after-validation", "after-approval", "never"].map((m) => h("option", { value: m }, m))),
      maxConcurrency: input("option-concurrency", { inputmode: "numeric", placeholder: "app default" }),
    };
    const c = this.controls;
    this.result = h("div", { id: "plan-result", "aria-live": "polite" });
    this.startButton = h("button", { type: "button", id: "start-batch", class: "primary", hidden: true,
      on: { click: () => this.startBatch() } }, "Start this batch…");
    this.form = h("form", { id: "plan-form", "aria-label": "Plan", on: { submit: (e) => { e.preventDefault(); this.preview(); } } },
      h("fieldset", {}, h("legend", {}, "Scope"),
        field("scope-groups", "Resource group IDs (one per line)", c.resourceGroups),
        field("scope-subscriptions", "Subscription IDs (one per line)", c.subscriptions)),
      h("fieldset", {}, h("legend", {}, "Filters"),
        field("filter-name", "Name pattern", c.namePattern, "glob, case-insensitive"),
        field("filter-os", "OS type", c.osType),
        field("filter-tags-present", "Tags present", c.tagsPresent, "names or name=value, comma-separated"),
        field("filter-tags-absent", "Tags absent", c.tagsAbsent, "names or name=value, comma-separated")),
      h("fieldset", {}, h("legend", {}, "Options"),
        field("option-gallery", "Gallery resource ID", c.galleryId, "empty: DEFAULT_GALLERY_ID"),
        field("option-regions", "Target regions", c.targetRegions, "region=replicas; the source region is always added"),
        field("option-deletion", "Source image", c.deletionMode),
        field("option-concurrency", "At most at once (batch)", c.maxConcurrency)),
      h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "preview" }, "Preview the plan"), this.startButton));
    fill(main, h("h2", {}, "Plan a batch"),
      h("p", { class: "note" }, "A plan only reads: it predicts, per image, what a batch with these settings would do."),
      this.form, this.result);
  }

  async refresh() {
    return false; // nothing live here; a plan is made on request
  }

  requestBody(batch) {
    const c = this.controls;
    const body = {};
    const scope = {};
    if (lines(c.resourceGroups.value).length) scope.resourceGroups = lines(c.resourceGroups.value);
    if (lines(c.subscriptions.value).length) scope.subscriptions = lines(c.subscriptions.value);
    body.scope = scope;
    const filters = {};
    if (c.namePattern.value.trim()) filters.namePattern = c.namePattern.value.trim();
    if (c.osType.value) filters.osType = c.osType.value;
    if (lines(c.tagsPresent.value).length) filters.tagsPresent = lines(c.tagsPresent.value);
    if (lines(c.tagsAbsent.value).length) filters.tagsAbsent = lines(c.tagsAbsent.value);
    if (Object.keys(filters).length) body.filters = filters;
    if (c.galleryId.value.trim()) body.galleryId = c.galleryId.value.trim();
    if (c.targetRegions.value.trim()) body.targetRegions = parseRegions(c.targetRegions.value);
    if (c.deletionMode.value) body.deletionMode = c.deletionMode.value;
    const cap = c.maxConcurrency.value.trim();
    if (batch && cap) body.maxConcurrency = /^\d+$/.test(cap) ? Number(cap) : cap;
    return body;
  }

  async preview() {
    this.startButton.hidden = true;
    this.body = this.requestBody(false);
    fill(this.result, h("p", { role: "status" }, "Planning…"));
    let answer = await call("POST", "/plans", this.body);
    while (answer.status === 202 && answer.body?.id) {
      fill(this.result, h("p", { role: "status", id: "plan-progress" }, planning(answer.body.progress)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      answer = await call("GET", `/plans/${encodeURIComponent(answer.body.id)}`);
    }
    const images = [...(answer.body?.images || [])];
    while (answer.ok && answer.body?.continuationToken) { // the rows come a page at a time
      const query = new URLSearchParams({ top: "1000", continuationToken: answer.body.continuationToken });
      answer = await call("GET", `/plans/${encodeURIComponent(answer.body.id)}?${query}`);
      images.push(...(answer.body?.images || []));
    }
    if (!answer.ok) {
      fill(this.result, h("div", { class: "problem", role: "alert" }, problemView(answer.problem)));
      return;
    }
    this.plan = { ...(answer.body || {}), images };
    this.render(this.plan);
    this.startButton.hidden = !(this.plan.status === "completed" && (this.plan.images || []).length);
  }

  render(plan) {
    if (plan.error) {
      fill(this.result, h("div", { class: "problem", role: "alert" }, `${plan.error.code}: ${plan.error.message}`));
      return;
    }
    const counts = plan.counts || {};
    const images = Array.isArray(plan.images) ? plan.images : [];
    const scope = plan.scope || {};
    const filters = plan.filters || {};
    const listed = (value) => (Array.isArray(value) ? value.join(", ") : String(value ?? ""));
    fill(this.result,
      h("h3", {}, "Planned for"),
      h("dl", { class: "facts", id: "plan-for" },
        plan.sourceImageId ? [h("dt", {}, "Image"), h("dd", {}, String(plan.sourceImageId))] : null,
        Object.entries(scope).filter(([, v]) => listed(v)).map(([k, v]) => [h("dt", {}, k), h("dd", {}, listed(v))]),
        Object.entries(filters).filter(([, v]) => listed(v)).map(([k, v]) => [h("dt", {}, k), h("dd", {}, listed(v))]),
        h("dt", {}, "Gallery"), h("dd", {}, String(plan.galleryId || "–"))),
      h("h3", {}, "Predicted outcome"),
      h("dl", { class: "counts", id: "plan-counts" }, ["images", "succeeded", "failed", "skipped", "sourceDeleted"].map((k) => [
        h("dt", {}, k), h("dd", { "data-key": k }, String(counts[k] ?? 0))])),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Plan per image" },
        h("table", { id: "plan-images" }, h("caption", { class: "visually-hidden" }, "Predicted outcome per image"),
          h("thead", {}, h("tr", {}, ["Image", "Predicted", "Why", "Definition", "Version", "Regions", "Source"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, images.map((img) => {
            const why = img.skipReason || (img.error ? `${img.error.code}: ${img.error.message}` : "");
            const regions = (img.targetRegions || []).map((r) => `${r.name}×${r.replicaCount ?? 1}`).join(", ");
            const deletion = img.deletion || {};
            const source = img.outcome !== "succeeded" ? "kept" : deletion.wouldDelete ? "deleted"
              : deletion.requiresApproval ? "deleted after approval" : `kept${deletion.reason ? `: ${deletion.reason}` : ""}`;
            return h("tr", { "data-outcome": img.outcome },
              h("td", { title: String(img.sourceImageId || "") }, String(img.name || "")),
              h("td", {}, h("span", { class: `outcome outcome-${img.outcome}` }, String(img.outcome || ""))),
              h("td", { class: "reason" }, why),
              h("td", {}, [img.definitionAction, img.definitionId ? img.definitionId.split("/").pop() : ""].filter(Boolean).join(" ")),
              h("td", {}, [img.versionAction, img.versionName].filter(Boolean).join(" ")),
              h("td", {}, regions),
              h("td", {}, source));
          })))));
  }

  async startBatch() {
    // The previewed scope and options, plus the batch's own cap.
    const { maxConcurrency } = this.requestBody(true);
    const body = maxConcurrency === undefined ? { ...this.body } : { ...this.body, maxConcurrency };
    const counts = this.plan?.counts || {};
    const answer = await confirmAndSend({
      title: `Start migrating ${counts.images ?? "these"} images?`,
      what: [
        `The plan predicts ${counts.succeeded ?? 0} succeed, ${counts.failed ?? 0} fail and ${counts.skipped ?? 0} are ` +
          `skipped. Source images: ${FATE[body.deletionMode || ""]}; a failed or canceled migration always keeps its source.`,
      ],
      method: "POST",
      path: "/batches",
      body,
      label: "Start the batch",
    });
    if (answer && answer.body?.id) {
      this.app.done(`Batch ${answer.body.id} started.`);
      location.hash = `#/batches/${encodeURIComponent(answer.body.id)}`;
    }
  }
}
