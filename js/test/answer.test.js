// @ts-check
// A free-form question in the chat cell: the call shows the agent's question with an answer
// box, Send and Deny (no Approve); Enter or Send sends the typed answer once, to the kernel as
// an `answer` message; the kernel's report replaces the controls with what was answered.
import "./dom.js";
import { fakeModel } from "./dom.js";
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { ChatView } from "../src/chat.js";
import { ToolCardView } from "../src/parts.js";

/** @typedef {import("../src/state.js").ToolState} ToolState */

const QUESTION = "Where would you like to go?";

/** @param {Partial<ToolState>} fields @returns {ToolState} */
function asking(fields = {}) {
  return {
    call_id: "c1",
    name: "ask_user",
    arguments: { question: QUESTION },
    status: "awaiting_approval",
    approval: { state: "awaiting", reason: null, decision_reason: null, question: QUESTION },
    started_at: 100,
    ...fields,
  };
}

function card() {
  /** @type {unknown[][]} */
  const decisions = [];
  const view = new ToolCardView({
    signal: new AbortController().signal,
    remembered: { open: null, full: false },
    decide: (...args) => decisions.push(args),
  });
  return { view, decisions };
}

/** @param {ParentNode} root @param {string} selector */
function $(root, selector) {
  return /** @type {HTMLInputElement} */ (root.querySelector(selector));
}

test("a question shows with an answer box, Send and Deny, and no Approve", () => {
  const { view } = card();
  view.update(asking());
  const el = view.el;
  assert.equal($(el, ".anb-approval-ask").textContent, `ask_user asks: ${QUESTION}`);
  assert.equal($(el, ".anb-answer-input").hidden, false);
  assert.equal($(el, ".anb-answer-input").getAttribute("aria-label"), "Your answer to ask_user's question");
  assert.equal($(el, ".anb-send-answer").hidden, false);
  assert.equal($(el, ".anb-deny").hidden, false);
  assert.equal($(el, ".anb-approve").hidden, true);
  assert.equal($(el, ".anb-deny-reason").hidden, true);
  assert.equal($(el, ".anb-approval").dataset.question, "true");
});

test("a plain approval keeps Approve and hides the answer box", () => {
  const { view } = card();
  view.update(asking({ approval: { state: "awaiting", reason: "needs a human" } }));
  assert.equal($(view.el, ".anb-approve").hidden, false);
  assert.equal($(view.el, ".anb-answer-input").hidden, true);
  assert.equal($(view.el, ".anb-send-answer").hidden, true);
});

test("Enter sends the typed answer once; a blank box sends nothing", () => {
  const { view, decisions } = card();
  view.update(asking());
  const box = $(view.el, ".anb-answer-input");
  const KeyboardEvent = /** @type {any} */ (globalThis).window.KeyboardEvent;
  box.value = "   ";
  box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  assert.deepEqual(decisions, [], "a blank answer is not sent");
  box.value = " Lisbon, in May ";
  box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  $(view.el, ".anb-send-answer").click();
  assert.deepEqual(decisions, [["c1", true, null, " Lisbon, in May "]], "sent as typed, once");
  assert.equal(box.disabled, true);
  assert.equal($(view.el, ".anb-approval-outcome").textContent, "Sending your answer…");

  view.update(asking({
    status: "succeeded",
    approval: { state: "approved", question: QUESTION, answer: " Lisbon, in May " },
  }));
  assert.equal($(view.el, ".anb-approval-actions").hidden, true);
  assert.equal($(view.el, ".anb-approval-outcome").textContent, "Answered:  Lisbon, in May ");
});

test("Deny on a question sends a denial without an answer", () => {
  const { view, decisions } = card();
  view.update(asking());
  $(view.el, ".anb-deny").click();
  assert.deepEqual(decisions, [["c1", false, null]]);
});

test("an empty question still says something", () => {
  const { view } = card();
  view.update(asking({ approval: { state: "awaiting", question: "" } }));
  assert.equal($(view.el, ".anb-approval-ask").textContent, "ask_user asks: (an empty question)");
});

/** @type {ChatView[]} */
const mounted = [];
afterEach(() => {
  for (const view of mounted.splice(0)) view.destroy();
});

test("Send in the chat cell reaches the kernel as an answer message", () => {
  const model = fakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  const view = new ChatView(el, /** @type {any} */ (model), { schedule: () => () => {} });
  view.start();
  mounted.push(view);
  const turn = {
    parts: [{ kind: /** @type {const} */ ("tool"), text: "", call_id: "c1" }],
    tools: [asking()],
    meta: { status: "paused", agent: "planner", message: "plan a trip", started_at: 100 },
  };
  model.deliver({ kind: "snapshot", seq: 1, state: { turns: [turn] } });
  view.renderNow();
  $(el, ".anb-answer-input").value = "Oslo";
  $(el, ".anb-send-answer").click();
  assert.deepEqual(model.sent.at(-1), { kind: "answer", t: 0, call_id: "c1", text: "Oslo" });
});
