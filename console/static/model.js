// What the console derives from the API's summaries (docs/openapi.yaml: MigrationSummary, BatchSummary).

import { galleryOf, leaf } from "./dom.js";

export const PHASES = [
  "preflight", "definition", "version", "replicating", "validating", "awaiting-approval", "repointing-scale-sets",
  "deleting-source", "done",
];
export const ACTIVE = new Set(["Running", "Pending", "Suspended", "ContinuedAsNew"]);
export const OUTCOMES = ["running", "succeeded", "failed", "canceled"];

/** One migration summary as the console shows it. */
export function migrationRow(summary) {
  const result = summary.result && typeof summary.result === "object" ? summary.result : null;
  const active = ACTIVE.has(summary.runtimeStatus);
  const outcome = summary.outcome || (active ? "running" : String(summary.runtimeStatus || "unknown").toLowerCase());
  const reason =
    (summary.error && summary.error.message) ||
    (result && !result.sourceDeleted && result.outcome === "succeeded" ? result.sourceKeptReason : "") ||
    summary.message ||
    "";
  const reference = summary.versionId || summary.definitionId || (result && result.definitionId) || "";
  return {
    id: String(summary.id || ""),
    image: leaf(summary.sourceImageId) || String(summary.id || ""),
    imageId: String(summary.sourceImageId || ""),
    gallery: galleryOf(reference),
    phase: String(summary.phase || "starting"),
    outcome,
    active,
    created: summary.createdTime || "",
    updated: summary.lastUpdatedTime || "",
    reason: String(reason || ""),
    awaitingApproval: active && summary.phase === "awaiting-approval",
  };
}

export const BATCH_STATES = ["queued", "running", "succeeded", "failed", "canceled", "skipped", "notStarted"];
const FINISHED = ["succeeded", "failed", "canceled", "skipped", "notStarted"];

export function batchProgress(counts) {
  const total = Number(counts.total || 0);
  const done = FINISHED.reduce((sum, key) => sum + Number(counts[key] || 0), 0);
  return { total, done, percent: total ? Math.round((100 * done) / total) : 0 };
}

/** "Now" for ages: the browser's clock, or the newest time the app reported if that is later (a local stack on a
 * virtual clock runs ahead of real time). */
export function clockNow(times) {
  return Math.max(Date.now(), ...times.map((t) => Date.parse(t || "") || 0));
}
