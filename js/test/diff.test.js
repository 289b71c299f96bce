// @ts-check
// The diff a tool call writes, rendered on its card: one row per line, added and removed
// lines marked, every line set as text and made visible; the shown call's diff (the version
// the decision is bound to) on a card asking for a decision, the arguments' on any other.
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ToolCardView } from "../src/parts.js";
import { DIFF_LINES, diffOf, lineKind } from "../src/diff.js";

/** @typedef {import("../src/state.js").ToolState} ToolState */

const DIFF = "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-old line\n+new <b>line</b>\u202e\n";

function card() {
  return new ToolCardView({
    signal: new AbortController().signal,
    remembered: { open: null, full: false },
    decide: () => {},
  });
}

/** @param {HTMLElement} el */
function rows(el) {
  return Array.from(el.querySelectorAll(".anb-diff-line")).map(
    (row) => [/** @type {HTMLElement} */ (row).dataset.kind, row.textContent]);
}

test("a write waiting for a decision shows its diff rendered above the controls", () => {
  const view = card();
  const shown = DIFF.slice(0, -1).split("\n").map((l) => l.replace("\u202e", "⟨U+202E⟩"));
  view.update({
    call_id: "w1",
    name: "edit",
    arguments: { path: "notes.txt", diff: DIFF },
    status: "awaiting_approval",
    approval: {
      state: "awaiting",
      shown: { name: "edit", name_is_plain: true, arguments: [], whole: [], warnings: [],
        diff: shown },
    },
  });
  const box = /** @type {HTMLElement} */ (view.approval.el.querySelector(".anb-diff"));
  assert.equal(box.hidden, false);
  assert.deepEqual(rows(box), [
    ["file", "--- a/notes.txt"],
    ["file", "+++ b/notes.txt"],
    ["hunk", "@@ -1 +1 @@"],
    ["del", "-old line"],
    ["add", "+new <b>line</b>⟨U+202E⟩"],
  ]);
  assert.equal(box.querySelector("b"), null); // text, never markup
  assert.equal(view.diff.el.hidden, true); // shown once, in the approval box
});

test("a call nobody was asked about shows the diff its arguments carry", () => {
  const view = card();
  view.update({ call_id: "e1", name: "edit", arguments: { diff: DIFF }, status: "succeeded" });
  assert.equal(view.diff.el.hidden, false);
  assert.equal(rows(view.diff.el).at(-1)?.[0], "add");
  view.update({ call_id: "e1", name: "edit", arguments: { diff: "not a diff" }, status: "succeeded" });
  assert.equal(view.diff.el.hidden, true);
});

test("a long diff is cut, saying how many lines are left out", () => {
  const lines = ["@@ -0,0 +1,500 @@", ...Array.from({ length: 500 }, (_, i) => `+line ${i}`)];
  const call = /** @type {ToolState} */ ({
    call_id: "w", name: "edit", status: "succeeded", arguments: { diff: lines.join("\n") },
  });
  const got = diffOf(call) ?? [];
  assert.equal(got.length, DIFF_LINES + 1);
  assert.equal(got.at(-1), "… 101 more lines of the diff");
  assert.equal(lineKind(got.at(-1) ?? ""), "more");
});
