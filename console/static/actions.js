// State-changing requests behind a confirmation that says what will happen. The buttons send exactly the API's
// requests; a refusal shows the API's problem details in the dialog, unchanged.

import { call, problemView } from "./api.js";
import { byId, fill, h } from "./dom.js";

let busy = false;

/**
 * confirm({title, what, request: "POST /migrations/x/approve", label}) -> Promise<Answer|null>
 * Resolves with the API's answer when it accepted (2xx), or null when the operator went back or it was refused
 * (the refusal stays on screen until they close the dialog).
 */
export function confirmAndSend({ title, what, method, path, body, label }) {
  const dialog = byId("confirm-dialog");
  const form = byId("confirm-form");
  const go = byId("confirm-go");
  const back = byId("confirm-back");
  const problem = byId("confirm-problem");
  fill(byId("confirm-title"), title);
  fill(byId("confirm-what"), ...[].concat(what));
  fill(byId("confirm-request"), "Sends ", h("code", {}, `${method} ${"/api" + path}`));
  fill(problem);
  problem.hidden = true;
  go.hidden = false;
  go.disabled = false;
  fill(go, label);
  fill(back, "Go back");
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", submit);
      back.removeEventListener("click", close);
      dialog.removeEventListener("close", closed);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const close = () => finish(null);
    const closed = () => finish(null);
    const submit = async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      go.disabled = true;
      try {
        const answer = await call(method, path, body);
        if (answer.ok) return finish(answer);
        fill(problem, h("p", {}, "The API refused this request:"), problemView(answer.problem));
      } catch (error) {
        fill(problem, h("p", {}, `The request failed: ${error.message || error}`));
      } finally {
        busy = false;
      }
      problem.hidden = false;
      go.hidden = true;
      fill(back, "Close");
      back.focus();
    };
    form.addEventListener("submit", submit);
    back.addEventListener("click", close);
    dialog.addEventListener("close", closed);
    dialog.showModal();
    back.focus(); // the safe choice has the focus
  });
}

const DELETION_GUARDS =
  "only once a version built from it is validated in every target region, the image is unchanged since preflight " +
  "and no scale set uses it";

export function approve(migration, onDone) {
  const name = migration.image || migration.id;
  return confirmAndSend({
    title: `Approve deleting ${name}?`,
    what: [
      `The managed image ${name} (${migration.imageId || "source unknown"}) will be deleted by migration ` +
        `${migration.id}, ${DELETION_GUARDS}. A deleted managed image cannot be restored; the gallery version ` +
        "replaces it.",
    ],
    method: "POST",
    path: `/migrations/${encodeURIComponent(migration.id)}/approve`,
    label: `Approve deleting ${name}`,
  }).then((answer) => answer && onDone(`Approval sent for ${name}.`));
}

export function cancel(migration, onDone) {
  const name = migration.image || migration.id;
  return confirmAndSend({
    title: `Cancel the migration of ${name}?`,
    what: [
      `Migration ${migration.id} stops at its next step (at once while it waits). The managed image ${name} ` +
        "is kept; a version that was not validated is removed.",
    ],
    method: "POST",
    path: `/migrations/${encodeURIComponent(migration.id)}/cancel`,
    label: `Cancel migrating ${name}`,
  }).then((answer) => answer && onDone(`Cancel sent for ${name}.`));
}

export function cancelBatch(batchId, running, onDone) {
  return confirmAndSend({
    title: `Cancel batch ${batchId}?`,
    what: [
      `No more images of batch ${batchId} are started, and the ${running} running migration(s) are canceled. ` +
        "Their source images are kept; finished migrations stay as they are.",
    ],
    method: "POST",
    path: `/batches/${encodeURIComponent(batchId)}/cancel`,
    label: "Cancel the batch",
  }).then((answer) => answer && onDone(`Cancel sent for batch ${batchId}.`));
}
