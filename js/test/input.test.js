// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatInput, FollowupChips } from "../src/input.js";

/** @param {{ accept?: boolean, draft?: string, focused?: boolean }} [options] */
function chatInput({ accept = true, draft = "", focused = false } = {}) {
  /** @type {string[]} */
  const submitted = [];
  /** @type {(() => void)[]} */
  const frames = [];
  const memory = { draft, focused };
  const controller = new AbortController();
  const box = new ChatInput({
    signal: controller.signal,
    memory,
    placeholder: "Message x…",
    onSubmit: (text) => {
      submitted.push(text);
      return accept;
    },
    schedule: (cb) => {
      frames.push(cb);
      return () => frames.splice(frames.indexOf(cb), 1);
    },
  });
  return { box, submitted, memory, frames, controller };
}

/** @param {HTMLElement} el @param {boolean} [shiftKey] */
function pressEnter(el, shiftKey = false) {
  el.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter", shiftKey, cancelable: true }));
}

test("the input sends trimmed text on Enter, not on Shift+Enter, and keeps a draft", () => {
  const { box, submitted, memory } = chatInput({ draft: "from before" });
  assert.equal(box.input.value, "from before");
  assert.equal(box.input.placeholder, "Message x… (Enter to send, Shift+Enter for a new line)");
  box.input.value = "  hi  ";
  box.input.dispatchEvent(new window.Event("input"));
  assert.equal(memory.draft, "  hi  ");
  pressEnter(box.input, true);
  assert.deepEqual(submitted, []);
  pressEnter(box.input);
  assert.deepEqual(submitted, ["hi"]);
  assert.equal(box.input.value, "");
  assert.equal(memory.draft, "");
  pressEnter(box.input);
  assert.deepEqual(submitted, ["hi"], "nothing to send");
});

test("text the widget refused stays in the box; the Send button follows busy", () => {
  const { box, submitted } = chatInput({ accept: false });
  box.input.value = "wait for me";
  box.el.dispatchEvent(new window.Event("submit", { cancelable: true }));
  assert.deepEqual(submitted, ["wait for me"]);
  assert.equal(box.input.value, "wait for me");
  box.setBusy(true);
  assert.equal(box.sendButton.disabled, true);
  box.setBusy(false);
  assert.equal(box.sendButton.disabled, false);
});

test("the keyboard comes back once the box is on the page, only if it had it", () => {
  const { box, frames } = chatInput({ focused: true });
  box.restoreFocus();
  assert.equal(frames.length, 1, "waits for a frame with the box attached");
  document.body.append(box.el);
  /** @type {() => void} */ (frames.shift())();
  assert.equal(document.activeElement, box.input);
  box.remove();

  const other = chatInput({ focused: false });
  document.body.append(other.box.el);
  other.box.restoreFocus();
  assert.notEqual(document.activeElement, other.box.input);
  other.box.remove();
});

test("a disposed box no longer listens nor waits for frames", () => {
  const { box, submitted, frames } = chatInput({ focused: true });
  box.restoreFocus();
  box.dispose();
  assert.equal(frames.length, 0);
  box.input.value = "late";
  pressEnter(box.input);
  assert.deepEqual(submitted, []);
});

test("chips start the next run, or copy where they cannot, and redraw only on change", () => {
  /** @type {any[]} */
  const calls = [];
  const chips = new FollowupChips({
    signal: new AbortController().signal,
    onFollowup: (text) => calls.push(["followup", text]),
    copy: (text) => calls.push(["copy", text]),
  });
  chips.update([], { canRun: true, disabled: false });
  assert.equal(chips.el.hidden, true);
  chips.update(["A?", "B?"], { canRun: true, disabled: false });
  const first = /** @type {HTMLButtonElement} */ (chips.el.firstElementChild);
  chips.update(["A?", "B?"], { canRun: true, disabled: false });
  assert.equal(chips.el.firstElementChild, first, "same chips: nothing redrawn");
  first.click();
  chips.update(["A?", "B?"], { canRun: true, disabled: true });
  assert.equal(/** @type {HTMLButtonElement} */ (chips.el.firstElementChild).disabled, true);
  first.click();
  chips.update(["A?"], { canRun: false, disabled: false });
  /** @type {HTMLButtonElement} */ (chips.el.firstElementChild).click();
  assert.deepEqual(calls, [["followup", "A?"], ["copy", "A?"]], "a replaced chip no longer listens");
});
