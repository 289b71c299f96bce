// @ts-check
// The attachments a typed message would carry: chips above the chat input, asked of the
// kernel once typing pauses, each open to its exact text, removable; a refused name said.
import "./dom.js";
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { AttachmentChips } from "../src/attachments.js";
import { ChatInput } from "../src/input.js";

function box() {
  const model = fakeModel();
  /** @type {(() => void)[]} */
  const timers = [];
  const chips = new AttachmentChips({
    signal: new AbortController().signal,
    model,
    wait: (cb) => {
      timers.push(cb);
      return () => timers.splice(timers.indexOf(cb), 1);
    },
  });
  /** @type {[string, string[]][]} */
  const submitted = [];
  const input = new ChatInput({
    signal: new AbortController().signal,
    memory: { draft: "", focused: false },
    onSubmit: (text, _editing, detach) => {
      submitted.push([text, detach]);
      return true;
    },
    schedule: () => () => {},
    attachments: chips,
  });
  /** @param {string} text */
  const type = (text) => {
    input.input.value = text;
    input.input.dispatchEvent(new window.Event("input"));
  };
  return { model, timers, chips, input, type, submitted };
}

const DF = "@df: pandas DataFrame, 3 rows × 1 columns\ncolumns:\n  x — int64, 0 null";

test("typing asks once the typing pauses, and only the latest answer is shown", () => {
  const { model, timers, chips, input, type } = box();
  type("what is in @d");
  type("what is in @df");
  assert.equal(timers.length, 1, "the earlier wait was cancelled");
  timers.pop()?.();
  const asked = model.sent.at(-1);
  assert.deepEqual(asked, { kind: "preview", n: asked.n, text: "what is in @df" });
  model.deliver({ kind: "attachments", n: asked.n - 1, items: [{ mention: "@d", text: "x" }], error: null });
  assert.equal(chips.el.hidden, true, "an answer to an older request is dropped");
  model.deliver({ kind: "attachments", n: asked.n, items: [{ mention: "@df", text: DF }], error: null });
  assert.equal(chips.el.hidden, false);
  assert.ok(input.el.contains(chips.el));
  const chip = /** @type {HTMLDetailsElement} */ (chips.el.querySelector(".anb-attachment"));
  assert.equal(chip.querySelector(".anb-attachment-name")?.textContent, "@df");
  assert.equal(chip.querySelector(".anb-attachment-text")?.textContent, DF, "the exact text, its lines kept");
  assert.equal(chip.dataset.attached, "true");
});

test("a removed attachment is sent as its mention only, and can be attached again", () => {
  const { model, timers, chips, input, type, submitted } = box();
  type("compare @df and @error");
  timers.pop()?.();
  const n = model.sent.at(-1).n;
  model.deliver({ kind: "attachments", n, error: null, items: [
    { mention: "@df", text: DF }, { mention: "@error", text: "@error:\nKeyError: 'x'" }] });
  const remove = /** @type {HTMLButtonElement} */ (chips.el.querySelector(
    '[data-mention="@df"] .anb-attachment-remove'));
  assert.equal(remove.getAttribute("aria-label"), "Remove @df: send the message without it");
  remove.click();
  const removed = /** @type {HTMLElement} */ (chips.el.querySelector('[data-mention="@df"]'));
  assert.equal(removed.dataset.attached, "false");
  assert.equal(removed.querySelector(".anb-attachment-note")?.textContent, "not attached");
  /** @type {HTMLButtonElement} */ (removed.querySelector(".anb-attachment-undo")).click();
  assert.equal(chips.el.querySelector('[data-mention="@df"]')?.getAttribute("data-attached"), "true");
  /** @type {HTMLButtonElement} */ (chips.el.querySelector(
    '[data-mention="@df"] .anb-attachment-remove')).click();
  input.submit();
  assert.deepEqual(submitted, [["compare @df and @error", ["@df"]]]);
  assert.equal(chips.el.hidden, true, "the empty box attaches nothing");
});

test("a name the kernel lacks shows the kernel's reason; text without @ asks nothing", () => {
  const { model, timers, chips, type } = box();
  type("what is in @dff?");
  timers.pop()?.();
  const n = model.sent.at(-1).n;
  model.deliver({ kind: "attachments", n, items: [],
    error: "@dff: no variable 'dff' in the notebook: did you mean @df?\u202e" });
  assert.equal(chips.el.querySelector(".anb-attachment-error")?.textContent,
    "⚠ @dff: no variable 'dff' in the notebook: did you mean @df?⟨U+202E⟩");
  const before = model.sent.length;
  type("no mention here");
  assert.equal(timers.length, 0);
  assert.equal(model.sent.length, before);
  assert.equal(chips.el.hidden, true);
});
