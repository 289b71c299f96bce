// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown } from "../src/markdown.js";
import { TranscriptState } from "../src/state.js";
import { PROMPT_CHARS, TurnView, tokenText } from "../src/turn.js";
import { clockTime, conversationTotal, formatUsd, turnTime } from "../src/format.js";

const NO_DEADLINE = Number.POSITIVE_INFINITY;
const IDLE = { canRun: false, busy: false };

/** A turn view with a recording context, and the turn it shows. */
function turnView(index = 0) {
  /** @type {any[]} */
  const calls = [];
  /** @type {string[]} */
  const remembered = [];
  const controller = new AbortController();
  const view = new TurnView(
    {
      signal: controller.signal,
      kernelNow: () => 110,
      copy: (text) => calls.push(["copy", text]),
      onStop: (t) => calls.push(["stop", t]),
      onFollowup: (text) => calls.push(["followup", text]),
      onRetry: (t) => calls.push(["retry", t]),
      onUndoNotebook: (t) => calls.push(["undo_notebook", t]),
      onVerdict: (t, value, comment) => calls.push(["verdict", t, value, comment]),
      onEdit: (t, text) => calls.push(["edit", t, text]),
      onDecide: (t, callId, approved, reason) => calls.push(["decide", t, callId, approved, reason]),
      onReply: (t, callId, action, content) => calls.push(["reply", t, callId, action, content]),
      renderMarkdown,
      remember: (key) => {
        remembered.push(key);
        return { open: null, full: false };
      },
    },
    index,
  );
  return { view, calls, remembered, controller };
}

/** @param {import("../src/state.js").TurnWire} wire */
function turnOf(wire) {
  const state = new TranscriptState();
  state.reset({ turns: [wire] }, 1);
  return state.turns[0];
}

const RUNNING = turnOf({
  parts: [
    { kind: "reasoning", text: "hmm", call_id: null },
    { kind: "tool", text: "", call_id: "call-1" },
  ],
  tools: [{ call_id: "call-1", name: "lookup", status: "running" }],
  meta: { status: "running", agent: "finance_agent", message: "NVDA?", started_at: 100 },
});

test("a running turn: prompt, parts, elapsed time on the kernel clock, Stop through the context", () => {
  const { view, calls } = turnView(2);
  assert.equal(view.update(RUNNING, NO_DEADLINE, IDLE), true);
  assert.equal(view.agent.textContent, "finance_agent");
  assert.equal(view.message.textContent, "NVDA?");
  assert.equal(view.body.children.length, 2);
  assert.equal(view.elapsed.textContent, "10.0 s");
  assert.equal(view.stop.hidden, false);
  view.stop.click();
  assert.deepEqual(calls, [["stop", 2]]);
  assert.equal(view.state.textContent, "Stopping…");
  assert.equal(view.stop.disabled, true);
});

test("the run's clock is the agent's time: it stands still while the run waits for a person", () => {
  const { view } = turnView();  // the kernel's clock reads 110
  const meta = { agent: "finance_agent", message: "NVDA?", started_at: 100 };
  view.update(turnOf({ parts: [], tools: [], meta: { ...meta, status: "paused", paused_at: 101, paused_seconds: 0 } }),
    NO_DEADLINE, IDLE);
  assert.equal(view.elapsed.textContent, "1.0 s", "paused a second in: the 9 s waited do not count");
  view.update(turnOf({ parts: [], tools: [], meta: { ...meta, status: "running", paused_at: null, paused_seconds: 7 } }),
    NO_DEADLINE, IDLE);
  assert.equal(view.elapsed.textContent, "3.0 s", "approved after 7 s: 10 s since the request, 3 of them the agent's");
  view.update(turnOf({ parts: [], tools: [], meta: { ...meta, status: "paused", paused_at: 108, paused_seconds: 7 } }),
    NO_DEADLINE, IDLE);
  assert.equal(view.elapsed.textContent, "1.0 s", "a second pause stops it again");
});

test("tool cards and reasoning get their remembered state by turn and call id", () => {
  const { view, remembered } = turnView(3);
  view.update(RUNNING, NO_DEADLINE, IDLE);
  assert.deepEqual(remembered, [
    "3/part/0", "3/tool/call-1", "3/tool/call-1/agent", "3/tool/call-1/card",
  ]);
});

test("the question reads as the person's: You, the agent, the time (full date on hover)", () => {
  const { view } = turnView();
  const startedAt = Date.UTC(2026, 10, 23, 16, 5) / 1000;
  view.update(turnOf({
    parts: [], tools: [], meta: { status: "completed", agent: "echo", message: "Hi there", started_at: startedAt },
  }), NO_DEADLINE, IDLE);
  const caption = /** @type {HTMLElement} */ (view.el.querySelector(".anb-caption"));
  assert.equal(caption.querySelector(".anb-you")?.textContent, "You");
  assert.equal(view.agent.textContent, "echo");
  assert.equal(view.message.textContent, "Hi there");
  assert.equal(view.when.dateTime, "2026-11-23T16:05:00.000Z");
  assert.match(view.when.title, /2026/);
  assert.ok(view.when.textContent && !view.when.hidden);
});

test("a turn's time reads on a 24-hour clock in every locale, with the day when not today", () => {
  const afternoon = new Date(2026, 10, 23, 16, 5, 9);
  const epoch = afternoon.getTime() / 1000;
  assert.equal(turnTime(epoch, new Date(2026, 10, 23, 18)).short, "16:05");
  assert.equal(turnTime(epoch, new Date(2026, 10, 24, 9)).short, "Nov 23, 16:05");
  assert.equal(clockTime(afternoon, true), "16:05:09");
  assert.equal(clockTime(new Date(2026, 0, 2, 3, 4, 5), true), "03:04:05");
});

test("an earlier turn's chips are spent, and the one asked next is marked", () => {
  const { view } = turnView();
  const turn = turnOf({
    parts: [], tools: [], meta: { status: "completed", followups: ["Why?", "How?"] },
  });
  view.update(turn, NO_DEADLINE, { canRun: false, busy: false, asked: "How?" });
  const chips = /** @type {HTMLElement[]} */ ([...view.el.querySelectorAll(".anb-chip")]);
  assert.equal(/** @type {HTMLElement} */ (view.el.querySelector(".anb-followups")).dataset.spent, "true");
  assert.deepEqual(chips.map((c) => c.dataset.asked ?? ""), ["", "true"]);
});

test("a finished turn copies its answer and run id, and its chips follow the mode", () => {
  const { view, calls } = turnView();
  const turn = turnOf({
    parts: [{ kind: "text", text: "The **answer**", call_id: null }],
    tools: [],
    meta: { status: "completed", run_id: "run-1", followups: ["Why?"], usage: { prompt_tokens: 1, completion_tokens: 2 } },
  });
  view.update(turn, NO_DEADLINE, { canRun: true, busy: false });
  assert.equal(view.stop.hidden, true);
  assert.equal(view.tokens.textContent, "tokens 1 in · 2 out");
  view.copyAnswer.click();
  /** @type {HTMLElement} */ (view.el.querySelector(".anb-copy-id")).click();
  /** @type {HTMLElement} */ (view.el.querySelector(".anb-chip")).click();
  assert.deepEqual(calls, [["copy", "The **answer**"], ["copy", "run-1"], ["followup", "Why?"]]);

  turn.dirtyMeta = true;
  view.update(turn, NO_DEADLINE, { canRun: true, busy: true });
  assert.equal(/** @type {HTMLButtonElement} */ (view.el.querySelector(".anb-chip")).disabled, true);
  turn.dirtyMeta = true;
  view.update(turn, NO_DEADLINE, IDLE);
  assert.ok(view.el.querySelector(".anb-chip-copy"), "not the last turn: the chip copies");
});

test("an answer the token limit cut says so in the status line, in the kernel's words", () => {
  for (const [note, shown] of [
    ["answer cut at the token limit (length)", "Completed · answer cut at the token limit (length)"],
    ["answer cut at the token limit (max_tokens)", "Completed · answer cut at the token limit (max_tokens)"],
    ["", "Completed"],
    [undefined, "Completed"],
  ]) {
    const { view } = turnView();
    const turn = turnOf({
      parts: [{ kind: "text", text: "The three reasons are: first, the", call_id: null }],
      tools: [],
      meta: { status: "completed", cut_note: note },
    });
    view.update(turn, NO_DEADLINE, IDLE);
    assert.equal(view.state.textContent, shown, String(note));
  }
});

test("Stop sits in the turn's head, above the answer that grows under it", () => {
  const { view } = turnView();
  view.update(RUNNING, NO_DEADLINE, IDLE);
  const head = /** @type {HTMLElement} */ (view.el.firstElementChild);
  assert.ok(head.contains(view.stop), "Stop is in the first row of the turn");
  assert.ok(head.contains(view.message), "next to the message");
  assert.equal(view.stop.hidden, false);
  assert.equal(view.el.querySelector(".anb-footer")?.contains(view.stop), false);
});

test("a turn with no prompt and no run going has no empty head", () => {
  const { view } = turnView();
  view.update(turnOf({ parts: [], tools: [], meta: { status: "completed" } }), NO_DEADLINE, IDLE);
  assert.equal(/** @type {HTMLElement} */ (view.el.firstElementChild).hidden, true);
});

test("Copy answer is offered only when there is an answer to copy", () => {
  /** @param {import("../src/state.js").TurnWire} wire */
  const copyShown = (wire) => {
    const { view } = turnView();
    view.update(turnOf(wire), NO_DEADLINE, IDLE);
    return !view.copyAnswer.hidden;
  };
  const reasoning = { kind: /** @type {const} */ ("reasoning"), text: "hmm", call_id: null };
  /** @param {string} text */
  const answer = (text) => ({ kind: /** @type {const} */ ("text"), text, call_id: null });
  const error = { message: "Model overloaded", code: "CAPACITY_ERROR" };
  assert.equal(copyShown({ parts: [reasoning], tools: [], meta: { status: "failed", error } }), false);
  assert.equal(copyShown({ parts: [answer("Half an answer")], tools: [], meta: { status: "cancelled" } }), true);
  assert.equal(copyShown({ parts: [answer("  \n")], tools: [], meta: { status: "completed" } }), false);
  assert.equal(copyShown({ parts: [answer("Done")], tools: [], meta: { status: "running" } }), false);
});

test("dispose removes the turn's listeners", () => {
  const { view, calls } = turnView();
  view.update(RUNNING, NO_DEADLINE, IDLE);
  view.dispose();
  view.stop.click();
  assert.deepEqual(calls, []);
});

test("tokenText lists the counts it has", () => {
  assert.equal(tokenText(null), "");
  assert.equal(tokenText({ total_tokens: 1200 }), "tokens 1,200 total");
});

test("the status line shows the model and the cost, and why a cost is missing", () => {
  const { view } = turnView();
  const meta = {
    status: "completed", started_at: 100, finished_at: 101, duration: 1,
    usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
    model: "gpt-4o-mini", cost: 0.00045, cost_source: "genai-prices", cost_reason: null,
  };
  view.update(turnOf({ parts: [], tools: [], meta }), NO_DEADLINE, IDLE);
  assert.equal(view.cost.textContent, "gpt-4o-mini · $0.00045");
  assert.match(view.cost.title, /genai-prices/);
  const unknown = { ...meta, model: "agentnb-echo", cost: null, cost_source: null,
    cost_reason: "genai-prices has no price for the model 'agentnb-echo'" };
  view.update(turnOf({ parts: [], tools: [], meta: unknown }), NO_DEADLINE, IDLE);
  assert.equal(view.cost.textContent, "agentnb-echo");
  assert.equal(view.cost.title, "No cost: genai-prices has no price for the model 'agentnb-echo'");
});

test("formatUsd writes costs as the Python side does", () => {
  // The same cases as tests/notebook/test_terminal_printer.py's test of usd().
  const cases = [[0, "$0.00"], [0.000435, "$0.000435"], [0.0123, "$0.0123"], [0.5, "$0.50"],
    [0.123456, "$0.123"], [1, "$1.00"], [1234.567, "$1,234.57"], [1e-9, "$0.000000001"]];
  for (const [value, text] of cases) assert.equal(formatUsd(/** @type {number} */ (value)), text);
});

test("a long message is clipped in the head and its text is not rewritten on each update", () => {
  const { view } = turnView();
  const message = "word ".repeat(20_000);
  const turn = turnOf({ parts: [], tools: [], meta: { status: "running", message, started_at: 100 } });
  view.update(turn, NO_DEADLINE, IDLE);
  const shown = view.message.textContent || "";
  assert.ok(shown.length <= PROMPT_CHARS, `${shown.length} characters in the head`);
  assert.ok(shown.endsWith("…") && message.startsWith(shown.slice(0, -1)));
  const node = view.message.firstChild;
  turn.dirtyMeta = true;
  turn.meta.status = "completed";
  view.update(turn, NO_DEADLINE, IDLE);
  assert.equal(view.message.firstChild, node, "the same text node: no relayout of the prompt");
  assert.equal(view.stop.hidden, true);
});

test("a conversation's running total adds the known costs and counts the missing ones", () => {
  /** @param {number | null} cost */
  const done = (cost) => ({ status: "completed", cost });
  assert.equal(conversationTotal([done(0.5)]), "");
  assert.equal(conversationTotal([done(0.5), done(0.25)]), "conversation · 2 runs · $0.75");
  assert.equal(
    conversationTotal([done(0.001), done(null), { status: "running", cost: null }]),
    "conversation · 3 runs · $0.001 · 1 without a cost",
  );
});

test("the last turn of a chat that can offers Retry and Edit once done, and says how it started", () => {
  const { view, calls } = turnView(2);
  const turn = turnOf({
    parts: [], tools: [], meta: { status: "running", message: "Why?", started_as: "retry" },
  });
  view.update(turn, NO_DEADLINE, { canRun: true, busy: false, canRetry: true });
  assert.equal(view.retry.hidden, true, "not while it runs");
  assert.equal(view.startedAs.textContent, "retry");
  turn.meta.status = "completed";
  turn.dirtyMeta = true;
  view.update(turn, NO_DEADLINE, { canRun: true, busy: false, canRetry: true });
  assert.equal(view.retry.hidden, false);
  view.retry.click();
  view.edit.click();
  assert.deepEqual(calls, [["retry", 2], ["edit", 2, "Why?"]]);
  turn.dirtyMeta = true;
  view.update(turn, NO_DEADLINE, { canRun: false, busy: false, canRetry: false });
  assert.equal(view.retry.hidden, true, "not on an earlier turn");
});

test("a finished turn offers ✓ / ✗ (thumbs up / down) with a note where the cell keeps verdicts, and shows the kept one", () => {
  const { view, calls } = turnView(1);
  const done = () => turnOf({
    parts: [{ kind: "text", text: "42", call_id: null }], tools: [], meta: { status: "completed" },
  });
  view.update(RUNNING, NO_DEADLINE, { canRun: false, busy: true, canVerdict: true });
  assert.equal(view.verdict.hidden, true, "not while the answer is still coming");
  view.update(done(), NO_DEADLINE, IDLE);
  assert.equal(view.verdict.hidden, true, "not where nothing keeps a verdict");
  view.update(done(), NO_DEADLINE, { canRun: false, busy: false, canVerdict: true });
  assert.equal(view.verdict.hidden, false);
  view.verdictNote.value = "  wrong ticker ";
  view.thumbDown.click();
  view.verdictNote.value = "";
  view.thumbUp.click();
  assert.deepEqual(calls, [["verdict", 1, false, "wrong ticker"], ["verdict", 1, true, null]]);
  assert.equal(view.thumbUp.getAttribute("aria-pressed"), "false", "pressed once kept, not on click");
  const kept = (/** @type {any} */ verdict) => {
    const turn = done();
    turn.meta.verdict = verdict;
    view.update(turn, NO_DEADLINE, { canRun: false, busy: false, canVerdict: true });
  };
  kept({ value: true, comment: "fine" });  // the run's verdict, kept by this view or another
  assert.equal(view.thumbUp.getAttribute("aria-pressed"), "true");
  assert.equal(view.thumbDown.getAttribute("aria-pressed"), "false");
  assert.equal(view.verdictNote.value, "fine");
  const fit = /** @type {HTMLElement} */ (view.verdictNote.parentElement);
  assert.equal(fit.dataset.note, "fine", "the kept note's box is sized for it (its hidden copy)");
  view.verdictNote.value = "fine, though slow\nand long";
  view.verdictNote.dispatchEvent(new window.Event("input", { bubbles: true }));
  assert.equal(fit.dataset.note, "fine, though slow\nand long", "the box grows with what is typed");
  kept({ value: true, comment: "fine" });
  assert.equal(view.verdictNote.value, "fine, though slow\nand long", "a note being typed stays");
  kept({ value: false, comment: "too vague" });  // given in the runs table, say
  assert.equal(view.thumbDown.getAttribute("aria-pressed"), "true");
  assert.equal(view.verdictNote.value, "too vague");
});

test("a turn that attached something shows what was typed, Edit takes that, and what was sent opens below it", () => {
  const { view, calls } = turnView(0);
  const sent = 'Is @cfg like @home?\n\n<notebook-data id="n1">\n@cfg: dict, 1 key\n</notebook-data id="n1">';
  const turn = turnOf({
    parts: [], tools: [],
    meta: { status: "completed", message: "Is @cfg like @@home?", sent },
  });
  view.update(turn, NO_DEADLINE, { canRun: true, busy: false, canRetry: true });
  assert.equal(view.message.textContent, "Is @cfg like @@home?");
  assert.equal(view.sent.hidden, false);
  assert.equal(view.sentText.textContent, sent);
  view.edit.click();
  assert.deepEqual(calls, [["edit", 0, "Is @cfg like @@home?"]]);
  const plain = turnOf({ parts: [], tools: [], meta: { status: "completed", message: "Why?" } });
  view.update(plain, NO_DEADLINE, IDLE);
  assert.equal(view.sent.hidden, true, "nothing attached: nothing more to open");
});

test("a finished run that added or edited a cell offers to undo its notebook changes", () => {
  /** @param {string} name @param {string} status @param {string} run */
  const ended = (name, status, run = "completed") => turnOf({
    parts: [{ kind: "tool", text: "", call_id: "c1" }],
    tools: [{ call_id: "c1", name, status }],
    meta: { status: run, agent: "a", message: "m", started_at: 100 },
  });
  const { view, calls } = turnView(3);
  view.update(ended("notebook_add_cell", "succeeded"), NO_DEADLINE, IDLE);
  assert.equal(view.undoNotebook.hidden, false);
  view.undoNotebook.click();
  assert.deepEqual(calls, [["undo_notebook", 3]]);
  view.update(ended("mcp__notebook__notebook_edit_cell", "succeeded", "cancelled"), NO_DEADLINE, IDLE);
  assert.equal(view.undoNotebook.hidden, false);
  for (const [name, status, run] of [
    ["notebook_add_cell", "denied", "completed"],
    ["notebook_run_cell", "succeeded", "completed"],
    ["notebook_add_cell", "succeeded", "running"],
    ["lookup", "succeeded", "completed"],
  ]) {
    const other = turnView();
    other.view.update(ended(name, status, run), NO_DEADLINE, IDLE);
    assert.equal(other.view.undoNotebook.hidden, true, `${name} ${status} ${run}`);
  }
});
