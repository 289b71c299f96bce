// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown } from "../src/markdown.js";
import {
  BLOCKS_PER_CHUNK, OUTPUT_PREVIEW_CHARS, ReasoningPartView, TextPartView, ToolCardView,
} from "../src/parts.js";

const NO_DEADLINE = Number.POSITIVE_INFINITY;

/** A card's decide callback for tests that never click Approve or Deny. */
function NO_DECISION() {
  throw new Error("no decision expected");
}

/** @returns {import("../src/memory.js").Disclosure} */
function fresh() {
  return { open: null, full: false };
}

function answer() {
  /** @type {string[]} */
  const rendered = [];
  /** @type {[string, HTMLButtonElement | undefined][]} */
  const copied = [];
  const controller = new AbortController();
  const view = new TextPartView({
    renderMarkdown: (source) => {
      rendered.push(source);
      return renderMarkdown(source);
    },
    copy: (text, feedback) => copied.push([text, feedback]),
    signal: controller.signal,
  });
  return { view, rendered, copied, controller };
}

test("the answer renders finished blocks once and redraws only the open one", () => {
  const { view, rendered } = answer();
  view.update("# Title\n\nfirst", NO_DEADLINE);
  view.update("# Title\n\nfirst para", NO_DEADLINE);
  assert.deepEqual(rendered, ["# Title\n\n", "first", "first para"]);
  assert.equal(view.el.querySelector("h1")?.textContent, "Title");
  view.update("other", NO_DEADLINE);
  assert.equal(view.el.querySelector("h1"), null, "a shorter text starts over");
  assert.equal(view.el.textContent?.trim(), "other");
});

test("the block being written keeps its nodes: new words are appended to its text", () => {
  const { view } = answer();
  view.update("intro\n\nfirst words", NO_DEADLINE);
  const paragraph = view.el.querySelectorAll("p")[1];
  const text = paragraph.firstChild;
  view.update("intro\n\nfirst words and more", NO_DEADLINE);
  assert.equal(view.el.querySelectorAll("p")[1], paragraph, "the same paragraph");
  assert.equal(paragraph.firstChild, text, "the same text node, grown");
  assert.equal(text?.nodeValue, "first words and more");
  view.update("intro\n\nfirst words and more *stressed*", NO_DEADLINE);
  assert.equal(paragraph.firstChild, text);
  assert.equal(paragraph.querySelector("em")?.textContent, "stressed");
  view.update("intro\n\nfirst words and more *stressed*\n===", NO_DEADLINE);
  assert.equal(paragraph.isConnected, false, "a paragraph that became a heading is replaced");
  assert.equal(view.el.querySelector("h1")?.textContent, "first words and more stressed");
  view.update("intro\n\nfirst words and more *stressed*\n===\ncut", NO_DEADLINE);
  assert.deepEqual([...view.el.querySelectorAll("h1, p")].map((el) => el.textContent),
    ["intro", "first words and more stressed", "cut"], "as if drawn anew");
});

test("the answer's code blocks get their language and a Copy button that copies the code", () => {
  const { view, copied, controller } = answer();
  view.update("```python\nprint(1)\n```\n", NO_DEADLINE);
  assert.equal(view.el.querySelector(".anb-code-lang")?.textContent, "python");
  const copy = /** @type {HTMLButtonElement} */ (view.el.querySelector(".anb-copy-code"));
  copy.click();
  assert.deepEqual(copied, [["print(1)\n", copy]]);
  controller.abort();
  copy.click();
  assert.equal(copied.length, 1, "no listener after the turn went");
});

test("the answer stops at the deadline once it drew a block, and says it is not done", () => {
  const { view } = answer();
  const text = "one\n\ntwo\n\nthree\n\n";
  assert.equal(view.update(text, -1), false);
  assert.equal(view.el.querySelectorAll("p").length, 1);
  assert.equal(view.update(text, NO_DEADLINE), true);
  assert.equal(view.el.querySelectorAll("p").length, 3);
});

test("a long answer's blocks are grouped in chunks, each full chunk closed the frame after", () => {
  const { view } = answer();
  const paragraphs = Array.from({ length: 2 * BLOCKS_PER_CHUNK + 6 }, (_, i) => `Paragraph ${i}.`);
  const text = paragraphs.join("\n\n");
  assert.equal(view.update(text, NO_DEADLINE), false, "full chunks are closed next frame");
  const chunks = () => Array.from(view.el.children);
  assert.ok(chunks().every((chunk) => chunk.classList.contains("anb-md-chunk")));
  assert.deepEqual(chunks().map((chunk) => chunk.childElementCount), [BLOCKS_PER_CHUNK, BLOCKS_PER_CHUNK, 6]);
  assert.equal(view.el.querySelectorAll(".anb-md-closed").length, 0);
  assert.equal(view.update(text, NO_DEADLINE), true);
  assert.deepEqual(chunks().map((chunk) => chunk.classList.contains("anb-md-closed")), [true, true, false]);
  const shown = Array.from(view.el.querySelectorAll("p"), (p) => p.textContent);
  assert.deepEqual(shown, paragraphs, "every block, in order, still in the DOM");
  view.update("short", NO_DEADLINE);
  assert.equal(view.el.children.length, 1, "a shorter text starts over in one chunk");
  assert.equal(view.el.textContent?.trim(), "short");
});

test("reasoning streams as text, collapses when the answer starts unless the user chose", () => {
  const controller = new AbortController();
  const view = new ReasoningPartView({ signal: controller.signal, remembered: fresh() });
  view.update("<b>a</b>");
  view.update("<b>a</b> b");
  assert.equal(view.body.textContent, "<b>a</b> b");
  assert.equal(view.el.open, true);
  view.setPhase(true, false);
  assert.equal(view.label.textContent, "Thinking…");
  view.setPhase(false, true);
  assert.equal(view.label.textContent, "Reasoning");
  assert.equal(view.el.open, false);

  const chosen = new ReasoningPartView({ signal: controller.signal, remembered: { open: true, full: false } });
  chosen.setPhase(false, true);
  assert.equal(chosen.el.open, true, "a remembered choice wins over the automatic collapse");
});

test("reasoning remembers what the user opened", async () => {
  const remembered = fresh();
  const view = new ReasoningPartView({ signal: new AbortController().signal, remembered });
  view.setPhase(false, true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(remembered.open, null, "the automatic collapse is not a choice");
  /** @type {HTMLElement} */ (view.el.querySelector("summary")).click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(remembered.open, true);
});

/** @param {Partial<import("../src/state.js").ToolState>} fields */
function call(fields) {
  return { call_id: "c", name: "lookup", status: "succeeded", ...fields };
}

test("a tool card shows a preview of a long output and all of it on Show all, remembered", () => {
  const remembered = fresh();
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered });
  const long = "z".repeat(OUTPUT_PREVIEW_CHARS + 10);
  view.update(call({ arguments: { q: 1 }, output: long, duration: 2 }));
  assert.equal(view.args.textContent, '{\n  "q": 1\n}');
  assert.equal(view.duration.textContent, "2.0 s");
  assert.equal(view.outputText.textContent?.length, OUTPUT_PREVIEW_CHARS);
  assert.equal(view.showAll.hidden, false);
  view.showAll.click();
  assert.equal(view.outputText.textContent, long);
  assert.equal(remembered.full, true);

  const rebuilt = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered });
  rebuilt.update(call({ output: long }));
  assert.equal(rebuilt.outputText.textContent, long);
  assert.equal(rebuilt.showAll.hidden, true);
});

test("a tool card opens its output as remembered and records the user's toggles", async () => {
  const remembered = { open: true, full: false };
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered });
  view.update(call({ output: "short" }));
  assert.equal(view.output.open, true);
  assert.equal(view.output.hidden, false);
  view.outputSummary.click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(remembered.open, false);
});

test("a running tool card shows no output until one arrives and ticks its duration on the kernel clock", () => {
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  view.update(call({ status: "running", started_at: 100 }));
  assert.equal(view.output.hidden, true);
  assert.ok(view.icon.querySelector(".anb-spinner"));
  view.tick(101.5);
  assert.equal(view.duration.textContent, "1.5 s");
  view.update(call({ status: "failed", error: "boom" }));
  assert.equal(view.error.textContent, "Error: boom");
  assert.equal(view.icon.textContent, "✗");
});

test("a tool card's clock stands still while the call waits for approval and counts the tool's own time after", () => {
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  view.update(call({ status: "awaiting_approval", started_at: 100, approval: { state: "awaiting" } }));
  view.tick(160);
  assert.equal(view.duration.textContent, "", "a person's wait is not the tool's time");
  const approved = /** @type {const} */ ({ state: "approved", decided_by: "user", decided_at: 160 });
  view.update(call({ status: "running", started_at: 100, approval: approved }));
  view.tick(161.5);
  assert.equal(view.duration.textContent, "1.5 s");
});

test("a tool output's summary previews it on one meaningful line, never a lone brace", () => {
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  const quote = { ticker: "NVDA", price: 875.4, currency: "USD" };
  view.update(call({ output: quote }));
  assert.equal(
    view.outputSummary.textContent,
    `Output (${JSON.stringify(quote, null, 2).length} chars) — { "ticker": "NVDA", "price": 875.4, "currency": "USD" }`,
  );

  const pretty = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  pretty.update(call({ output: JSON.stringify({ rows: [1, 2], note: "x".repeat(200) }, null, 2) }));
  const line = pretty.outputSummary.textContent || "";
  assert.match(line, /— \{ "rows": \[ 1, 2 \], "note": "x+…$/);
  assert.ok(line.length < 120, line);

  const text = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  text.update(call({ output: "\n\n  first line\nsecond line" }));
  assert.equal(text.outputSummary.textContent, "Output (26 chars) — first line second line");

  const cut = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  cut.update(call({ output: '{\n  "ticker": "NV', output_chars: 5000, output_truncated: true }));
  assert.equal(cut.outputSummary.textContent, 'Output (5,000 chars) — { "ticker": "NV');
});

test("a tool card is whole while its call runs or waits, folds once done, and keeps the user's choice", () => {
  const card = fresh();
  const view = new ToolCardView({
    signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh(), card,
  });
  view.update(call({ status: "running", arguments: { q: 1 } }));
  assert.equal(view.el.dataset.folded, "false");
  assert.equal(view.fold.hidden, true, "a running call cannot be folded");
  view.update(call({ status: "awaiting_approval", arguments: { q: 1 } }));
  assert.equal(view.el.dataset.folded, "false");
  view.update(call({ status: "succeeded", arguments: { q: 1 }, output: "ok" }));
  assert.equal(view.el.dataset.folded, "true", "done: folded to its head");
  assert.equal(view.fold.getAttribute("aria-expanded"), "false");
  view.fold.click();
  assert.equal(view.el.dataset.folded, "false");
  assert.equal(card.open, true);
  view.update(call({ status: "succeeded", arguments: { q: 1 }, output: "ok" }));
  assert.equal(view.el.dataset.folded, "false", "the user's choice is kept");
  /** @type {HTMLElement} */ (view.el.querySelector(".anb-tool-name")).click();
  assert.equal(view.el.dataset.folded, "true", "a click on the head folds it again");
});

test("a sub-agent's card shows what it spent: tokens, model and cost, with where the cost came from", () => {
  const view = new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  view.update(call({
    usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
    model: "gpt-4o-mini", cost: 0.000012, cost_source: "genai-prices",
  }));
  assert.equal(view.tokens.textContent, "tokens 10 in · 20 out · 30 total · gpt-4o-mini · $0.000012");
  assert.equal(view.tokens.title, "USD, from genai-prices' price table");

  view.update(call({
    usage: { total_tokens: 30 }, model: "in-house-7b", cost: null,
    cost_reason: "genai-prices has no price for the model 'in-house-7b'",
  }));
  assert.equal(view.tokens.textContent, "tokens 30 total · in-house-7b");
  assert.equal(view.tokens.title, "No cost: genai-prices has no price for the model 'in-house-7b'");

  view.update(call({}));
  assert.equal(view.tokens.textContent, "", "a plain tool spent nothing of its own");
  assert.equal(view.tokens.title, "");
});

test("a notebook function's figure or table is shown as the notebook shows it, its HTML made safe", () => {
  const card = () => new ToolCardView({ signal: new AbortController().signal, decide: NO_DECISION, remembered: fresh() });
  const call = {
    call_id: "c1", name: "price_chart", status: "succeeded", ran_by: "client",
    output: "<Figure size 300x200 with 1 Axes>",
  };
  const png = card();
  png.update({ ...call, shown: { mime: "image/png", data: "iVBORw0KGgo=" } });
  const img = /** @type {HTMLImageElement} */ (png.el.querySelector(".anb-tool-shown img"));
  assert.equal(img.getAttribute("src"), "data:image/png;base64,iVBORw0KGgo=");
  assert.equal(img.alt, "What price_chart returned");
  assert.equal(png.output.open, true, "the output is open: a figure is for seeing");
  assert.equal(png.el.dataset.folded, "false", "and the finished card is not folded away");
  assert.equal(png.outputText.textContent, call.output, "the text the agent got stays below");

  const svg = card();
  svg.update({ ...call, shown: { mime: "image/svg+xml", data: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' } });
  const svgImg = /** @type {HTMLImageElement} */ (svg.el.querySelector(".anb-tool-shown img"));
  assert.match(svgImg.src, /^data:image\/svg\+xml;charset=utf-8,%3Csvg/, "an image: its script never runs");

  const table = card();
  table.update({
    ...call,
    shown: { mime: "text/html", data: '<style>td{}</style><table class="dataframe"><tr><td onclick="x()">10</td></tr></table><script>alert(1)</script><img src="https://t.test/p.png">' },
  });
  const box = /** @type {HTMLElement} */ (table.el.querySelector(".anb-tool-html"));
  assert.equal(box.innerHTML, "<table><tbody><tr><td>10</td></tr></tbody></table><img>");

  const large = card();
  large.update({ ...call, shown: { mime: "text/plain", data: "a PNG image of 2,000,000 bytes: larger than the 1,000,000 a chat cell shows" } });
  assert.match(large.el.querySelector(".anb-tool-shown")?.textContent ?? "", /larger than the 1,000,000/);
  assert.equal(large.el.dataset.folded, "true", "words alone fold like any output");

  const plain = card();
  plain.update(call);
  assert.equal(/** @type {HTMLElement} */ (plain.el.querySelector(".anb-tool-shown")).hidden, true);
});
