// @ts-check
// The call tree in the view: where each call is drawn (state.js `place`), nested cards inside
// their parent's card and never at the top, a sub-agent's text collapsed and remembered,
// live appends, and a tree 50 calls deep that stops indenting.
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown } from "../src/markdown.js";
import { TranscriptState } from "../src/state.js";
import { TurnView } from "../src/turn.js";
import { WidgetMemory } from "../src/memory.js";
import { MAX_INDENT } from "../src/tree.js";

const NO_DEADLINE = Number.POSITIVE_INFINITY;
const IDLE = { canRun: false, busy: false };

/** @param {WidgetMemory} [memory] */
function turnView(memory = new WidgetMemory()) {
  const controller = new AbortController();
  const view = new TurnView(
    {
      signal: controller.signal,
      kernelNow: () => 110,
      copy: () => {},
      onStop: () => {},
      onFollowup: () => {},
      onRetry: () => {},
      onUndoNotebook: () => {},
      onVerdict: () => {},
      onEdit: () => {},
      onDecide: () => {},
      onReply: () => {},
      renderMarkdown,
      remember: (key) => memory.disclosure(key),
    },
    0,
  );
  return { view, memory };
}

/**
 * @param {string} id @param {string} name @param {string | null} parent
 * @param {Partial<import("../src/state.js").ToolState>} [more]
 * @returns {import("../src/state.js").ToolState}
 */
function call(id, name, parent, more = {}) {
  return { call_id: id, name, status: "succeeded", parent_call_id: parent, ...more };
}

/** @param {import("../src/state.js").ToolState[]} tools @param {string} [status] */
function stateOf(tools, status = "completed") {
  const state = new TranscriptState();
  state.reset({
    turns: [{
      parts: tools.map((t) => ({ kind: /** @type {const} */ ("tool"), text: "", call_id: t.call_id })),
      tools,
      meta: { status },
    }],
  }, 1);
  return state;
}

const NESTED = [
  call("r1", "research", null, { agent_text: "Looking up NVDA.", agent_reasoning: "Hmm." }),
  call("r2", "research", null),
  call("r1/p1", "get_price", "r1", { agent: "researcher", usage: { prompt_tokens: 7 }, duration: 2 }),
  call("r2/p1", "get_price", "r2", { agent: "analyst" }),
  call("r1/p1/v1", "verify", "r1/p1", { agent: "checker" }),
];

/** @param {Element} el */
const names = (el) => Array.from(el.querySelectorAll(":scope > .anb-tool > .anb-tool-head .anb-tool-name"))
  .map((n) => n.textContent);

test("place: inside a parent that came first, else at the top", () => {
  const state = stateOf([
    call("a", "a", null), call("b", "b", "a"), call("x", "x", "x"), call("o", "o", "ghost"),
    call("p", "p", "q"), call("q", "q", "p"),
  ]);
  const placed = Object.fromEntries(state.turns[0].placement);
  assert.deepEqual(placed, {
    a: { parent: null, level: 0 }, b: { parent: "a", level: 1 }, x: { parent: null, level: 0 },
    o: { parent: null, level: 0 }, p: { parent: null, level: 0 }, q: { parent: "p", level: 1 },
  });
});

test("a nested card sits inside its parent's card, labelled with its agent, never at the top", () => {
  const { view } = turnView();
  view.update(stateOf(NESTED).turns[0], NO_DEADLINE, IDLE);
  assert.deepEqual(names(view.body), ["research", "research"]);
  const [first, second] = Array.from(view.body.querySelectorAll(":scope > .anb-tool"));
  const inside = /** @type {HTMLElement} */ (first.querySelector(":scope > .anb-tool-children"));
  assert.deepEqual(names(inside), ["get_price"]);
  assert.equal(inside.getAttribute("role"), "group");
  assert.equal(inside.getAttribute("aria-label"), "Calls made inside research");
  const price = /** @type {HTMLElement} */ (inside.querySelector(".anb-tool"));
  assert.equal(price.querySelector(".anb-tool-agent")?.textContent, "researcher");
  assert.equal(price.getAttribute("aria-label"), "Tool call get_price by agent researcher");
  assert.equal(price.querySelector(".anb-tool-tokens")?.textContent, "tokens 7 in");
  assert.equal(price.querySelector(".anb-tool-duration")?.textContent, "2.0 s");
  assert.deepEqual(names(/** @type {HTMLElement} */ (price.querySelector(".anb-tool-children"))), ["verify"]);
  assert.deepEqual(names(/** @type {HTMLElement} */ (second.querySelector(".anb-tool-children"))), ["get_price"]);
  assert.equal(second.querySelector(".anb-tool-children .anb-tool-agent")?.textContent, "analyst");
  assert.equal(view.cards.size, 5);
});

test("a sub-agent's text is collapsed inside its call, named by its agent, and remembered", () => {
  const { view, memory } = turnView();
  view.update(stateOf(NESTED).turns[0], NO_DEADLINE, IDLE);
  const sub = /** @type {HTMLDetailsElement} */ (view.body.querySelector(".anb-subagent"));
  assert.equal(sub.hidden, false);
  assert.equal(sub.open, false);
  assert.equal(sub.querySelector("summary")?.textContent, "Sub-agent researcher · 20 chars");
  assert.equal(sub.querySelector(".anb-subagent-text")?.textContent, "Looking up NVDA.");
  assert.equal(sub.querySelector(".anb-subagent-reasoning")?.textContent, "Hmm.");
  assert.equal(view.body.querySelectorAll(".anb-subagent:not([hidden])").length, 1);
  sub.open = true;
  sub.dispatchEvent(new window.Event("toggle"));
  assert.equal(memory.disclosure("0/tool/r1/agent").open, true);
  const again = turnView(memory).view;
  again.update(stateOf(NESTED).turns[0], NO_DEADLINE, IDLE);
  const reopened = /** @type {HTMLDetailsElement} */ (again.body.querySelector(".anb-subagent"));
  assert.equal(reopened.open, true, "a re-created view keeps it open");
});

test("live: nested calls and a sub-agent's text stream into their parent's card", () => {
  const { view } = turnView();
  const state = stateOf([call("r1", "research", null, { status: "running" })], "running");
  view.update(state.turns[0], NO_DEADLINE, IDLE);
  state.applyDelta([
    { op: "agent_text", t: 0, call_id: "r1", kind: "text", text: "Look" },
    { op: "part", t: 0, i: 1, kind: "tool", call_id: "r1/p1", text: "" },
    { op: "tool", t: 0, call: call("r1/p1", "get_price", "r1", { agent: "researcher", status: "running" }) },
  ], 2);
  view.update(state.turns[0], NO_DEADLINE, IDLE);
  state.applyDelta([{ op: "agent_text", t: 0, call_id: "r1", kind: "text", text: "ing up." }], 3);
  view.update(state.turns[0], NO_DEADLINE, IDLE);
  assert.deepEqual(names(view.body), ["research"]);
  const card = /** @type {HTMLElement} */ (view.body.querySelector(".anb-tool"));
  assert.deepEqual(names(/** @type {HTMLElement} */ (card.querySelector(".anb-tool-children"))), ["get_price"]);
  assert.equal(card.querySelector(".anb-subagent-text")?.textContent, "Looking up.");
  assert.equal(card.querySelector(".anb-subagent summary")?.textContent, "Sub-agent researcher · 11 chars");
  assert.throws(() => state.applyOp({ op: "agent_text", t: 0, call_id: "nope", kind: "text", text: "x" }));
});

test("parallel calls with the same id under different parents stay apart", () => {
  const { view } = turnView();
  view.update(stateOf(NESTED).turns[0], NO_DEADLINE, IDLE);
  const agents = Array.from(view.body.querySelectorAll(":scope > .anb-tool"))
    .map((card) => card.querySelector(".anb-tool-children .anb-tool-agent")?.textContent);
  assert.deepEqual(agents, ["researcher", "analyst"]);
});

test("a tree 50 calls deep stops indenting at MAX_INDENT and says the depth", () => {
  const deep = [call("d0", "ask", null)];
  for (let level = 1; level < 50; level++) {
    deep.push(call(`d${level}`, `level_${level}`, `d${level - 1}`, { agent: `agent_${level}` }));
  }
  const { view } = turnView();
  view.update(stateOf(deep).turns[0], NO_DEADLINE, IDLE);
  assert.deepEqual(names(view.body), ["ask"]);
  const cards = Array.from(view.body.querySelectorAll(".anb-tool")).map((el) => /** @type {HTMLElement} */ (el));
  assert.equal(cards.length, 50);
  assert.equal(cards[49].dataset.level, String(MAX_INDENT));
  assert.equal(cards[49].dataset.deep, "true");
  assert.equal(cards[3].dataset.deep, undefined);
  assert.equal(cards[49].querySelector(".anb-tool-depth")?.textContent, "depth 49");
  const capped = /** @type {HTMLElement} */ (cards[MAX_INDENT].querySelector(".anb-tool-depth"));
  assert.equal(capped.hidden, true);
  assert.ok(cards[48].contains(cards[49]), "still inside its parent");
});

test("a sub-agent that only writes text is named by the call's sub_agent", () => {
  const { view } = turnView();
  const tools = [call("w1", "summarise", null, { sub_agent: "writer", agent_text: "Semis look strong." })];
  view.update(stateOf(tools).turns[0], NO_DEADLINE, IDLE);
  const sub = /** @type {HTMLDetailsElement} */ (view.body.querySelector(".anb-subagent"));
  assert.equal(sub.querySelector("summary")?.textContent, "Sub-agent writer · 18 chars");
  assert.equal(sub.open, false);
});
