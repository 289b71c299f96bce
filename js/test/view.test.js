// @ts-check
import "./dom.js";
import { fakeModel } from "./dom.js";
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ChatView } from "../src/chat.js";
import { OUTPUT_PREVIEW_CHARS } from "../src/parts.js";
import { HELLO_AFTER_MS } from "../src/sync.js";

/** Frames recorded from the kernel's controller (see fixtures/record_frames.py). */
const FRAMES = JSON.parse(
  readFileSync(new URL("./fixtures/finance_frames.json", import.meta.url), "utf8"),
);

/** @type {ChatView[]} */
const mounted = [];
afterEach(() => {
  for (const view of mounted.splice(0)) view.destroy();
});

/** @param {Record<string, any>} [traits] */
function mount(traits) {
  const model = fakeModel(traits);
  const el = document.createElement("div");
  document.body.append(el);
  /** @type {string[]} */
  const copied = [];
  const view = new ChatView(el, /** @type {any} */ (model), {
    schedule: () => () => {},
    copy: async (text) => {
      copied.push(text);
    },
  });
  view.start();
  mounted.push(view);
  /** @param {any} frame */
  const deliver = (frame) => {
    model.deliver(frame);
    view.renderNow();
  };
  /** @param {string} selector */
  const $ = (selector) => /** @type {HTMLElement} */ (el.querySelector(selector));
  return { model, el, view, deliver, $, copied };
}

/** @param {HTMLElement | null} el */
function text(el) {
  return el?.textContent?.trim() ?? "";
}

test("a recorded finance run renders progressively: reasoning, tool cards, answer, status", () => {
  const { model, deliver, $, el } = mount();
  assert.deepEqual(model.sent, [], "an empty transcript holds every frame: no hello");

  deliver(FRAMES[0]);
  assert.equal(text($(".anb-agent")), "finance_agent");
  assert.equal(text($(".anb-message")), "What is NVDA trading at?");
  assert.equal($(".anb-stop").hidden, false);

  deliver(FRAMES[1]);
  deliver(FRAMES[2]);
  const reasoning = /** @type {HTMLDetailsElement} */ ($(".anb-reasoning"));
  assert.equal(reasoning.open, true);
  assert.equal(text($(".anb-reasoning-label")), "Thinking…");
  assert.equal(/** @type {HTMLElement} */ (reasoning.querySelector(".anb-spinner")).hidden, false);

  for (const frame of FRAMES.slice(3, 8)) deliver(frame);
  const cards = el.querySelectorAll(".anb-tool");
  assert.equal(cards.length, 1);
  assert.equal(text(cards[0].querySelector(".anb-tool-name")), "get_stock_price");
  assert.equal(text(cards[0].querySelector(".anb-tool-args pre")), '{\n  "ticker": "NVDA"\n}');
  assert.equal(/** @type {HTMLElement} */ (cards[0]).dataset.status, "succeeded");
  assert.match(text(cards[0].querySelector(".anb-tool-output summary")), /Output \(\d+ chars\)/);
  assert.match(text(cards[0].querySelector(".anb-tool-duration")), /ms|s$/);
  assert.equal(reasoning.open, true, "still thinking: no answer yet");

  for (const frame of FRAMES.slice(8, 11)) deliver(frame);
  const failed = el.querySelectorAll(".anb-tool")[1];
  assert.equal(/** @type {HTMLElement} */ (failed).dataset.status, "failed");
  assert.equal(text(failed.querySelector(".anb-tool-error")), "Error: division by zero");
  assert.equal(reasoning.open, false, "collapsed once the answer starts");
  assert.equal(text($(".anb-reasoning-label")), "Reasoning");

  for (const frame of FRAMES.slice(11)) deliver(frame);
  const answer = $(".anb-answer");
  assert.equal(text(answer.querySelector("h2")), "NVDA today");
  assert.equal(text(answer.querySelector("strong")), "181.20 USD");
  assert.equal(answer.querySelectorAll("tbody tr").length, 2);
  assert.equal(text(answer.querySelector(".anb-code-lang")), "python");
  assert.ok(answer.querySelector(".anb-copy-code"));

  assert.equal(text($(".anb-state")), "Completed");
  assert.equal(text($(".anb-tokens")), "tokens 52 in · 80 out · 132 total");
  assert.match(text($(".anb-ttft")), /^first token \d+ ms$/);
  assert.match(text($(".anb-elapsed")), /s$/);
  assert.equal(text($(".anb-runid code")), "run-7f3a");
  assert.equal($(".anb-stop").hidden, true);
  assert.equal($(".anb-copy-answer").hidden, false);
  const chips = Array.from(el.querySelectorAll(".anb-chip")).map((c) => text(/** @type {HTMLElement} */ (c)));
  assert.deepEqual(chips, ["How did AMD do?", "Plot the week"]);
  assert.equal($(".anb-error").hidden, true);
});

test("buttons: stop, copy answer, copy run id, chips copy without a follow-up starter", async () => {
  const { model, deliver, $, copied } = mount();
  for (const frame of FRAMES.slice(0, 5)) deliver(frame);
  $(".anb-stop").click();
  assert.deepEqual(model.sent.at(-1), { kind: "stop", t: 0 });
  assert.equal(/** @type {HTMLButtonElement} */ ($(".anb-stop")).disabled, true);
  assert.equal(text($(".anb-state")), "Stopping…");

  for (const frame of FRAMES.slice(5)) deliver(frame);
  $(".anb-copy-answer").click();
  $(".anb-copy-id").click();
  $(".anb-chip").click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.match(copied[0], /^## NVDA today\n\nNVDA trades at \*\*181.20 USD\*\*/);
  assert.equal(copied[1], "run-7f3a");
  assert.equal(copied[2], "How did AMD do?");
  assert.equal(model.sent.filter((m) => m.kind === "followup").length, 0);
});

test("chips start the next run when the kernel can, only on the last turn when idle", () => {
  const { model, deliver, el } = mount({ options: { can_followup: true } });
  for (const frame of FRAMES) deliver(frame);
  const chip = /** @type {HTMLButtonElement} */ (el.querySelector(".anb-chip"));
  assert.equal(chip.disabled, false);
  chip.click();
  assert.deepEqual(model.sent.at(-1), { kind: "followup", text: "How did AMD do?" });
});

test("duplicates are ignored, a gap asks for a resync and a snapshot repairs the view", () => {
  const { model, deliver, view, el } = mount();
  deliver({ kind: "snapshot", seq: 0, state: { turns: [] } });
  deliver(FRAMES[0]);
  deliver(FRAMES[0]);
  assert.equal(view.sync.framesIgnored, 2);
  deliver(FRAMES[2]);
  assert.deepEqual(model.sent.at(-1), { kind: "resync", have: 1, view: view.name });
  const before = model.sent.length;
  deliver(FRAMES[3]);
  assert.equal(model.sent.length, before, "one request per gap until the snapshot comes");

  const last = FRAMES.at(-1);
  const state = {
    turns: [
      {
        parts: [{ kind: "text", text: "Repaired **answer**", call_id: null }],
        tools: [],
        meta: { status: "completed", agent: "finance_agent", message: "q", run_id: "r" },
      },
    ],
  };
  deliver({ kind: "snapshot", seq: last.seq, state });
  assert.equal(text(el.querySelector(".anb-answer")), "Repaired answer");
  assert.equal(el.querySelectorAll(".anb-turn").length, 1);
  deliver(last);
  assert.equal(text(el.querySelector(".anb-answer")), "Repaired answer", "seq already applied");
});

test("a view started late renders from the synced transcript, then catches up", () => {
  const transcript = {
    seq: 11,
    turns: [
      {
        parts: [{ kind: "text", text: "Hello", call_id: null }],
        tools: [],
        meta: { status: "running", started_at: 1, agent: "a", message: "m" },
      },
    ],
  };
  const { model, deliver, el } = mount({ transcript });
  assert.equal(text(el.querySelector(".anb-answer")), "Hello");
  deliver({ kind: "delta", seq: 12, ops: [{ op: "text", t: 0, i: 0, text: " world" }] });
  assert.equal(text(el.querySelector(".anb-answer")), "Hello world");
  model.set("transcript", { ...transcript, seq: 10 });
  assert.equal(text(el.querySelector(".anb-answer")), "Hello world", "older state is ignored");
  assert.deepEqual(model.sent, [], "the next frame was what it needed: no hello");
});

test("a view of ended runs asks for nothing; one of a running run says hello only when no frame comes", async () => {
  const ended = { seq: 7, turns: [{ parts: [], tools: [], meta: { status: "completed", agent: "a", message: "m" } }] };
  const done = mount({ transcript: ended });
  const running = { seq: 4, turns: [{ parts: [], tools: [], meta: { status: "running", agent: "a", message: "m" } }] };
  const quiet = mount({ transcript: running });
  const told = mount({ transcript: running });
  told.deliver({ kind: "delta", seq: 5, ops: [] });
  const gap = mount({ transcript: running });
  gap.deliver({ kind: "delta", seq: 9, ops: [] });
  assert.deepEqual(gap.model.sent, [{ kind: "resync", have: 4, view: gap.view.name }],
    "a gap asks at once");
  await new Promise((resolve) => setTimeout(resolve, HELLO_AFTER_MS + 50));
  assert.deepEqual(done.model.sent, [], "the transcript of ended runs holds the last frame");
  assert.deepEqual(told.model.sent, [], "a frame came: nothing to ask");
  assert.deepEqual(quiet.model.sent, [{ kind: "hello", have: 4, view: quiet.view.name }],
    "no frame came: it asks");
  quiet.deliver({ kind: "current", seq: 4 });
  assert.equal(quiet.view.sync.awaitingSnapshot, false, "answered: a gap asks again");
  quiet.deliver({ kind: "delta", seq: 6, ops: [] });
  assert.deepEqual(quiet.model.sent.at(-1), { kind: "resync", have: 4, view: quiet.view.name });

  const behind = mount({ transcript: running });
  behind.view.sync.request("hello");
  behind.deliver({ kind: "current", seq: 5 });
  assert.deepEqual(behind.model.sent.at(-1), { kind: "resync", have: 4, view: behind.view.name },
    "a frame never came");
});

test("finished blocks are never re-rendered while the answer grows", () => {
  const { deliver, el } = mount();
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "running" } } }],
  });
  deliver({ kind: "delta", seq: 2, ops: [{ op: "part", t: 0, i: 0, kind: "text", text: "# One\n\nfirst para" }] });
  deliver({ kind: "delta", seq: 3, ops: [{ op: "text", t: 0, i: 0, text: "graph.\n\nSecond " }] });
  const blocks = el.querySelectorAll(".anb-md-block");
  const heading = /** @type {HTMLElement} */ (blocks[0].firstElementChild);
  const paragraph = /** @type {HTMLElement} */ (blocks[1].firstElementChild);
  let seq = 3;
  for (let i = 0; i < 200; i++) {
    seq += 1;
    deliver({ kind: "delta", seq, ops: [{ op: "text", t: 0, i: 0, text: `w${i} ` }] });
  }
  const after = el.querySelectorAll(".anb-md-block");
  assert.equal(after[0].firstElementChild, heading);
  assert.equal(after[1].firstElementChild, paragraph);
  assert.equal(text(/** @type {HTMLElement} */ (after[1])), "first paragraph.");
  assert.match(text(/** @type {HTMLElement} */ (after[2])), /^Second w0 w1 .* w199$/);
});

test("tool arguments and outputs are text, long outputs truncated and expandable", () => {
  const payload = '<img src=x onerror="globalThis.pwned=1">';
  const long = `${payload}\n${"y".repeat(OUTPUT_PREVIEW_CHARS * 2)}`;
  const { deliver, el } = mount();
  deliver({
    kind: "delta",
    seq: 1,
    ops: [
      { op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "running" } } },
      { op: "part", t: 0, i: 0, kind: "tool", call_id: "c", text: "" },
      {
        op: "tool",
        t: 0,
        call: { call_id: "c", name: payload, arguments: { html: payload }, status: "succeeded", output: long, duration: 1.5 },
      },
    ],
  });
  const card = /** @type {HTMLElement} */ (el.querySelector(".anb-tool"));
  assert.equal(card.querySelector("img"), null);
  assert.equal(text(card.querySelector(".anb-tool-name")), payload);
  assert.equal(text(card.querySelector(".anb-tool-duration")), "1.5 s");
  const pre = /** @type {HTMLElement} */ (card.querySelector(".anb-tool-output pre"));
  assert.equal(pre.textContent?.length, OUTPUT_PREVIEW_CHARS);
  const showAll = /** @type {HTMLButtonElement} */ (card.querySelector(".anb-show-all"));
  assert.equal(showAll.hidden, false);
  showAll.click();
  assert.equal(pre.textContent, long);
  assert.equal(/** @type {any} */ (globalThis).pwned, undefined);
});

test("an error banner shows code, message and when to retry", () => {
  const { deliver, el } = mount();
  deliver({
    kind: "delta",
    seq: 1,
    ops: [
      {
        op: "turn",
        t: 0,
        turn: {
          parts: [{ kind: "text", text: "partial", call_id: null }],
          tools: [],
          meta: { status: "failed", error: { code: "CAPACITY_ERROR", message: "busy <b>now</b>", retry_after: 30 } },
        },
      },
    ],
  });
  const banner = /** @type {HTMLElement} */ (el.querySelector(".anb-error"));
  assert.equal(banner.hidden, false);
  assert.equal(banner.getAttribute("role"), "alert");
  assert.equal(text(banner.querySelector(".anb-error-code")), "CAPACITY_ERROR");
  assert.equal(text(banner.querySelector(".anb-error-message")), "busy <b>now</b>");
  assert.equal(text(banner.querySelector(".anb-error-retry")), "Retry after 30.0 s.");
  assert.equal(text(el.querySelector(".anb-state")), "Failed");
});

test("the chat input sends on Enter, keeps Shift+Enter, and is disabled while running", () => {
  const { model, deliver, el } = mount({ options: { input: true, can_followup: true, placeholder: "Message x…" } });
  const input = /** @type {HTMLTextAreaElement} */ (el.querySelector(".anb-input-text"));
  assert.equal(input.placeholder, "Message x… (Enter to send, Shift+Enter for a new line)");
  input.value = "Hello there";
  input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter", shiftKey: true }));
  assert.equal(model.sent.filter((m) => m.kind === "send").length, 0);
  input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
  assert.deepEqual(model.sent.at(-1), { kind: "send", text: "Hello there" });
  assert.equal(input.value, "");
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "running" } } }],
  });
  assert.equal(/** @type {HTMLButtonElement} */ (el.querySelector(".anb-send")).disabled, true);
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".anb-waiting")).hidden, false);
  deliver({ kind: "notice", text: "A run is still going" });
  assert.equal(text(el.querySelector(".anb-notice")), "A run is still going");
});

test("cleanup removes the view and its listeners", () => {
  const { model, view, el } = mount();
  assert.equal(model.listeners("msg:custom"), 1);
  view.destroy();
  assert.equal(model.listeners("msg:custom"), 0);
  assert.equal(model.listeners("change:transcript"), 0);
  assert.equal(el.querySelector(".agentnb"), null);
});

test("the widget entry point renders and returns its cleanup", async () => {
  const widget = (await import("../src/widget.js")).default;
  const model = fakeModel();
  const el = document.createElement("div");
  const cleanup = widget.render({ model: /** @type {any} */ (model), el });
  assert.ok(el.querySelector(".agentnb"));
  assert.equal(typeof cleanup, "function");
  cleanup();
  assert.equal(el.querySelector(".agentnb"), null);
});

test("a whole long answer arriving at once is drawn over several frames, in order", () => {
  const model = fakeModel();
  const el = document.createElement("div");
  /** @type {(() => void)[]} */
  const frames = [];
  const view = new ChatView(el, /** @type {any} */ (model), {
    schedule: (cb) => {
      frames.push(cb);
      return () => {};
    },
    frameBudgetMs: 0,
  });
  view.start();
  mounted.push(view);
  const blocks = Array.from({ length: 6 }, (_, i) => `Paragraph ${i}.\n\n`).join("");
  model.deliver({
    kind: "snapshot",
    seq: 4,
    state: {
      turns: [
        { parts: [{ kind: "text", text: blocks, call_id: null }], tools: [], meta: { status: "completed" } },
      ],
    },
  });
  let drawn = 0;
  const counts = [];
  while (frames.length) {
    /** @type {() => void} */ (frames.shift())();
    drawn += 1;
    counts.push(el.querySelectorAll(".anb-md-block p").length);
  }
  assert.equal(drawn, 5, "one finished block per frame, the last frame also draws the open one");
  assert.deepEqual(counts.slice(0, 3), [1, 2, 3]);
  const paragraphs = Array.from(el.querySelectorAll(".anb-md-block p")).map((p) => p.textContent);
  assert.deepEqual(paragraphs, Array.from({ length: 6 }, (_, i) => `Paragraph ${i}.`));
});

test("a view re-created for the same widget keeps the input's draft and gives back the keyboard", async () => {
  const model = fakeModel({ options: { input: true, can_followup: true } });
  /** @type {(() => void)[]} */
  const frames = [];
  const hooks = {
    /** @param {() => void} cb */
    schedule: (cb) => {
      frames.push(cb);
      return () => {};
    },
  };
  const newView = () => {
    const el = document.createElement("div");
    const view = new ChatView(el, /** @type {any} */ (model), hooks);
    mounted.push(view);
    return { el, view, input: /** @type {HTMLTextAreaElement} */ (el.querySelector(".anb-input-text")) };
  };
  const runFrames = () => {
    while (frames.length) /** @type {() => void} */ (frames.shift())();
  };

  const first = newView();
  document.body.append(first.el);
  first.view.start();
  first.input.focus();
  first.input.value = "half a quest";
  first.input.dispatchEvent(new window.Event("input"));
  // The notebook drops the old view's DOM and renders a new view, attached a bit later.
  first.el.remove();
  await Promise.resolve();
  const second = newView();
  second.view.start();
  assert.equal(second.input.value, "half a quest");
  /** @type {() => void} */ (frames.shift())(); // a frame passes before the view is attached
  assert.notEqual(document.activeElement, second.input);
  document.body.append(second.el);
  runFrames();
  assert.equal(document.activeElement, second.input);

  // Left by the user: a later view does not take the keyboard, and a sent draft is gone.
  second.input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
  assert.deepEqual(model.sent.at(-1), { kind: "send", text: "half a quest" });
  second.input.blur();
  await Promise.resolve();
  const third = newView();
  document.body.append(third.el);
  third.view.start();
  runFrames();
  assert.equal(third.input.value, "");
  assert.notEqual(document.activeElement, third.input);
});

test("no key typed in any input of the cell reaches the page; Enter and Space on its buttons neither", () => {
  const { model, deliver, el } = mount({ options: { input: true, can_followup: true } });
  const trade = {
    call_id: "c1", name: "place_trade", status: "awaiting_approval",
    approval: { state: "awaiting", reason: "needs a human" },
  };
  const asking = { ...trade, call_id: "c2", approval: { state: "awaiting", question: "Where?" } };
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: {
      parts: [{ kind: "tool", text: "", call_id: "c1" }, { kind: "tool", text: "", call_id: "c2" }],
      tools: [trade, asking], meta: { status: "paused" },
    } }],
  });
  /** @type {string[]} */
  const escaped = [];
  const onPage = (/** @type {KeyboardEvent} */ event) => escaped.push(event.key);
  document.addEventListener("keydown", onPage);
  try {
    const inputs = [...el.querySelectorAll("input, textarea")];
    assert.deepEqual(
      inputs.map((i) => i.className).sort(),
      [
        "anb-answer-input", "anb-answer-input", "anb-deny-reason", "anb-deny-reason",
        "anb-input-text", "anb-verdict-note",
      ],
    );
    const keys = [
      { key: "Enter", shiftKey: true }, { key: "Enter", ctrlKey: true }, { key: "Enter", altKey: true },
      { key: "Escape" }, { key: "a" }, { key: "b" }, { key: "d" }, { key: "m" }, { key: "y" },
    ];
    for (const input of inputs) {
      for (const init of keys) {
        input.dispatchEvent(new window.KeyboardEvent("keydown", { ...init, bubbles: true, cancelable: true }));
      }
    }
    const stop = /** @type {HTMLElement} */ (el.querySelector(".anb-stop"));
    stop.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    assert.deepEqual(escaped, []);
    stop.dispatchEvent(new window.KeyboardEvent("keydown", { key: "j", bubbles: true }));
    assert.deepEqual(escaped, ["j"], "a letter on a button is the notebook's (command mode)");
  } finally {
    document.removeEventListener("keydown", onPage);
  }
  assert.equal(model.sent.filter((m) => m.kind === "send").length, 0, "the question box was empty");
  const root = /** @type {HTMLElement} */ (el.querySelector(".agentnb"));
  assert.equal(root.getAttribute("data-lm-suppress-shortcuts"), "true", "Lumino's own switch");
});

test("Edit puts the last question in the box and Send sends it as an edit; New conversation asks the kernel", () => {
  const { model, deliver, el } = mount({
    options: { input: true, can_followup: true, can_retry: true, can_reset: true },
  });
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "completed", message: "Old question" } } }],
  });
  /** @type {HTMLElement} */ (el.querySelector(".anb-edit")).click();
  const input = /** @type {HTMLTextAreaElement} */ (el.querySelector(".anb-input-text"));
  assert.equal(input.value, "Old question");
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".anb-edit-note")).hidden, false);
  input.value = "New question";
  input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
  assert.deepEqual(model.sent.at(-1), { kind: "edit", t: 0, text: "New question" });
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".anb-edit-note")).hidden, true);
  /** @type {HTMLElement} */ (el.querySelector(".anb-retry")).click();
  assert.deepEqual(model.sent.at(-1), { kind: "retry", t: 0 });
  /** @type {HTMLElement} */ (el.querySelector(".anb-new")).click();
  assert.deepEqual(model.sent.at(-1), { kind: "new" });
});

test("where Retry and Edit cannot fork, the last turn says so beside them before they are used", () => {
  const note = "Retry and Edit continue the thread: the earlier attempt stays in it.";
  const { deliver, $ } = mount({
    options: { input: true, can_followup: true, can_retry: true, retry_note: note },
  });
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "completed", message: "Q" } } }],
  });
  assert.equal($(".anb-retry").hidden, false);
  assert.equal($(".anb-retry-note").hidden, false);
  assert.equal(text($(".anb-retry-note")), note);
  assert.match($(".anb-retry").title, /the earlier attempt stays in it/);
  deliver({
    kind: "delta",
    seq: 2,
    ops: [{ op: "turn", t: 1, turn: { parts: [], tools: [], meta: { status: "running", message: "Q2" } } }],
  });
  assert.equal($(".anb-retry-note").hidden, true, "no note while nothing can be retried");
});

test("where Retry and Edit fork, no note: their titles say the replaced answer is left out", () => {
  const { deliver, $ } = mount({ options: { input: true, can_followup: true, can_retry: true } });
  deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "completed", message: "Q" } } }],
  });
  assert.equal($(".anb-retry-note").hidden, true);
  assert.match($(".anb-retry").title, /the answer it replaces is left out/);
  assert.match($(".anb-edit").title, /the answer it replaces is left out/);
});

test("an opened past run offers Continue: a click asks the kernel, which opens the input box", () => {
  const { model, el, view, $ } = mount({ options: { can_continue: true, agent: "echo" } });
  assert.equal($(".anb-continue").hidden, false);
  assert.equal(el.querySelector(".anb-input-text"), null, "read-only until continued");
  $(".anb-continue-button").click();
  assert.deepEqual(model.sent.at(-1), { kind: "continue" });
  assert.equal(/** @type {HTMLButtonElement} */ ($(".anb-continue-button")).disabled, true);
  model.set("options", { input: true, can_followup: true, can_retry: true, can_continue: false });
  view.renderNow();
  assert.equal($(".anb-continue").hidden, true);
  const input = /** @type {HTMLTextAreaElement} */ ($(".anb-input-text"));
  assert.equal(document.activeElement, input, "the box asked for has the keyboard");
});

test("a past run that cannot go on says why in place of the Continue button", () => {
  const why = "Cannot continue this conversation: connection 'gone' does not exist in this kernel";
  const { $ } = mount({ options: { can_continue: true, continue_note: why } });
  assert.equal($(".anb-continue").hidden, false);
  assert.equal($(".anb-continue-button").hidden, true);
  assert.equal(text($(".anb-continue-note")), why);
});

test("a refusal after the click replaces the button with the reason", () => {
  const { model, $ } = mount({ options: { can_continue: true } });
  $(".anb-continue-button").click();
  model.set("options", { can_continue: true, continue_note: "Cannot continue this conversation: gone" });
  assert.equal($(".anb-continue-button").hidden, true);
  assert.equal(text($(".anb-continue-note")), "Cannot continue this conversation: gone");
});

test("a follow-up turn does not offer again a question the conversation has asked", () => {
  const { deliver, el } = mount({ options: { input: true, can_followup: true } });
  /** @param {string} message @param {string[]} followups */
  const turn = (message, followups) => ({
    parts: [{ kind: "text", text: "An answer.", call_id: null }],
    tools: [],
    meta: { status: "completed", agent: "finance_agent", message, followups },
  });
  const offered = ["How did AMD do?", "Plot the week", "What about TSMC?"];
  deliver({
    kind: "snapshot",
    seq: 1,
    state: {
      turns: [
        turn("What is NVDA at?", offered),
        turn("How did AMD do?", ["What is NVDA at?", ...offered]),
      ],
    },
  });
  const [first, last] = Array.from(el.querySelectorAll(".anb-followups"));
  const chips = (/** @type {Element} */ box) =>
    Array.from(box.querySelectorAll(".anb-chip")).map((c) => text(/** @type {HTMLElement} */ (c)));
  assert.deepEqual(chips(first), offered, "an earlier turn keeps what it offered, the asked one marked");
  assert.deepEqual(chips(last), ["Plot the week", "What about TSMC?"]);
  assert.equal(last.querySelectorAll(".anb-chip-copy").length, 0, "the last turn's chips ask");
});

/**
 * A turn as the kernel sends it: run `id` (its local id) asking `message`.
 * @param {string} id @param {string} message @param {Record<string, any>} [meta]
 * @param {any[]} [parts] @param {any[]} [tools]
 */
function runTurn(id, message, meta = {}, parts = [], tools = []) {
  return { parts, tools, meta: { status: "completed", agent: "finance_agent", message, local_id: id, ...meta } };
}

test("a newer snapshot of the same conversation patches its turns: a note being typed keeps its nodes, text and keyboard", () => {
  const { model, deliver, el, view } = mount({ options: { can_verdict: true } });
  const call = { call_id: "c1", name: "lookup", status: "succeeded", output: "181.20" };
  const parts = [
    { kind: "reasoning", text: "Look it up.", call_id: null },
    { kind: "tool", text: "", call_id: "c1" },
    { kind: "text", text: "NVDA is at", call_id: null },
  ];
  deliver({ kind: "snapshot", seq: 3, state: { turns: [runTurn("L1", "NVDA?", {}, parts, [call])] } });
  const message = el.querySelector(".anb-message");
  const card = el.querySelector(".anb-tool");
  const answer = el.querySelector(".anb-answer");
  const note = /** @type {HTMLTextAreaElement} */ (el.querySelector(".anb-verdict-note"));
  note.focus();
  note.value = "right, but slow";
  note.setSelectionRange(0, 5);

  // The synced transcript, newer: the answer grown and a second turn begun.
  const grown = [...parts.slice(0, 2), { kind: "text", text: "NVDA is at 181.20 USD.", call_id: null }];
  model.set("transcript", {
    seq: 5,
    turns: [runTurn("L1", "NVDA?", {}, grown, [call]), runTurn("L2", "AMD?", { status: "running" })],
  });
  view.renderNow();
  assert.equal(el.querySelectorAll(".anb-turn").length, 2);
  assert.equal(el.querySelector(".anb-message"), message, "the question's node stays");
  assert.equal(el.querySelector(".anb-tool"), card, "and the tool card's");
  assert.equal(el.querySelector(".anb-answer"), answer, "and the answer's, grown");
  assert.equal(text(/** @type {HTMLElement} */ (answer)), "NVDA is at 181.20 USD.");
  assert.equal(el.querySelector(".anb-verdict-note"), note);
  assert.equal(note.value, "right, but slow");
  assert.equal(document.activeElement, note, "the keyboard stays in the note");
  assert.deepEqual([note.selectionStart, note.selectionEnd], [0, 5]);

  // A snapshot after a resync, as a message: the same again.
  deliver({ kind: "snapshot", seq: 6, state: { turns: [runTurn("L1", "NVDA?", {}, grown, [call])] } });
  assert.equal(el.querySelectorAll(".anb-turn").length, 1, "a turn the state no longer has goes");
  assert.equal(el.querySelector(".anb-message"), message);
  assert.equal(el.querySelector(".anb-tool"), card);
  assert.equal(note.value, "right, but slow");
  assert.equal(document.activeElement, note);
});

test("a snapshot with another run at a turn's place draws that turn anew: nothing of the old run is carried over", () => {
  const { model, deliver, el } = mount({ options: { can_verdict: true } });
  const verdict = { value: true, comment: "fine" };
  deliver({
    kind: "snapshot",
    seq: 2,
    state: { turns: [runTurn("L1", "NVDA?", { verdict, run_id: "run-1" }), runTurn("L2", "AMD?", { status: "running" })] },
  });
  const [first, second] = Array.from(el.querySelectorAll(".anb-turn"));
  /** @type {HTMLTextAreaElement} */ (first.querySelector(".anb-verdict-note")).value = "fine, typed on";
  /** @type {HTMLButtonElement} */ (second.querySelector(".anb-stop")).click();
  assert.deepEqual(model.sent.at(-1), { kind: "stop", t: 1 });

  deliver({ kind: "snapshot", seq: 3, state: { turns: [runTurn("L3", "TSMC?", { status: "running" })] } });
  const turns = Array.from(el.querySelectorAll(".anb-turn"));
  assert.equal(turns.length, 1);
  assert.notEqual(turns[0], first);
  assert.equal(text(turns[0].querySelector(".anb-message")), "TSMC?");
  const stop = /** @type {HTMLButtonElement} */ (turns[0].querySelector(".anb-stop"));
  assert.equal(stop.disabled, false, "the Stop asked of another run is not this one's");
  assert.equal(text(turns[0].querySelector(".anb-state")), "Running");
  assert.equal(text(turns[0].querySelector(".anb-runid")), "", "nor another run's id");

  deliver({ kind: "snapshot", seq: 4, state: { turns: [runTurn("L3", "TSMC?")] } });
  const note = /** @type {HTMLTextAreaElement} */ (el.querySelector(".anb-verdict-note"));
  assert.equal(note.value, "", "the note typed under another run is gone");
  const pressed = Array.from(el.querySelectorAll(".anb-verdict button")).map((b) => b.getAttribute("aria-pressed"));
  assert.deepEqual(pressed, ["false", "false"], "and so is its verdict");
});

test("a cell off screen finishes a redraw its frame cut short at the next frame, not a second later", () => {
  const model = fakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  /** @type {(() => void)[]} */
  const frames = [];
  const view = new ChatView(el, /** @type {any} */ (model), {
    frameBudgetMs: -1, // every frame is over at once: a long answer takes several
    schedule: (cb) => {
      frames.push(cb);
      return () => frames.splice(frames.indexOf(cb), 1);
    },
  });
  view.start();
  mounted.push(view);
  view.onSeen(false); // scrolled out of sight (fifty cells in one output area)
  const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}.`).join("\n\n");
  model.deliver({
    kind: "delta",
    seq: 1,
    ops: [{ op: "turn", t: 0, turn: { parts: [], tools: [], meta: { status: "completed" } } }],
  });
  model.deliver({ kind: "delta", seq: 2, ops: [{ op: "part", t: 0, i: 0, kind: "text", text: paragraphs }] });
  view.cancelFrame?.(); // the once-a-second redraw of new data off screen, come due
  view.cancelFrame = null;
  view.renderNow();
  assert.equal(frames.length, 1, "the rest of the redraw waits for the next shared frame");
  for (let i = 0; frames.length && i < 200; i++) frames.splice(0, 1)[0]();
  assert.match(text(el.querySelector(".anb-answer")), /Paragraph 39\.$/, "drawn whole");
});
