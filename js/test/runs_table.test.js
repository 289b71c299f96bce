// @ts-check
import "./dom.js";
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import widget, { TYPING_MS } from "../src/runs_table.js";

const COLUMNS = [
  { title: "started", about: "when", type: "time", right: false },
  { title: "agent", about: "the agent", type: "text", right: false },
  { title: "message", about: "the message", type: "text", right: false },
  { title: "cost", about: "the cost in USD", type: "number", right: true },
  { title: "run", about: "the run id", type: "text", right: false },
];
const TITLES = ["started", "agent", "message", "cost", "run"];

/** @param {number} from @param {number} count */
function rows(from, count) {
  return Array.from({ length: count }, (_, i) => ({
    id: `id${from + i}`,
    cells: [["12:00:00", "2025-01-01 12:00:00+00:00"], ["echo", ""], [`question ${from + i}`, ""], [String(i), ""], [`run_${from + i}`, ""]],
  }));
}

/** @param {Record<string, any>} [page] */
function mount(page = {}) {
  const model = fakeModel({
    title: "RunHistory: 45 runs",
    columns: COLUMNS,
    selection: [],
    page: { id: 0, rows: rows(0, 20), total: 45, offset: 0, columns: TITLES, query: null, error: null, ...page },
  });
  /** @type {string[][]} */
  const saved = [];
  const proxy = /** @type {any} */ ({
    ...model.proxy(),
    set: (/** @type {string} */ name, /** @type {any} */ value) => model.set(name, value),
    save_changes: () => saved.push(model.get("selection")),
  });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model: proxy, el });
  const $ = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (el.querySelector(selector));
  return { model, el, cleanup, saved, $ };
}

/** @param {any} model @param {any} query */
function answer(model, query, rowsShown = rows(0, 20), total = 45) {
  const last = model.sent.at(-1);
  model.set("page", { id: last.id, rows: rowsShown, total, offset: query.offset, columns: TITLES, query, error: null });
}

test("the page from the kernel is drawn as text, with its range", () => {
  const hostile = '<img src=x onerror="alert(1)">';
  const { el, $, cleanup } = mount({ rows: [{ id: "a", cells: [["1", ""], ["echo", ""], [hostile, hostile + " whole"], ["3", ""], ["r", ""]] }], total: 1 });
  assert.equal($(".anb-runs-title").textContent, "RunHistory: 45 runs");
  const cells = el.querySelectorAll("tbody td");
  assert.equal(cells[3].textContent, hostile);
  assert.equal(/** @type {HTMLElement} */ (cells[3]).title, hostile + " whole");
  assert.equal(el.querySelector("tbody img"), null);
  assert.equal($(".anb-runs-range").textContent, "1–1 of 1");
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".agentnb-runs-view")).dataset.lmSuppressShortcuts, "true");
  cleanup();
});

test("a header click asks for the page sorted up, then down, then in the table's order", () => {
  const { model, el, cleanup } = mount();
  const header = () => /** @type {HTMLButtonElement} */ (el.querySelector("button.anb-runs-sort[data-column='cost']"));
  header().click();
  assert.deepEqual(model.sent.at(-1).query.sort, { column: "cost", descending: false });
  assert.equal(el.querySelector(".anb-runs-status")?.textContent, "Loading…");
  answer(model, model.sent.at(-1).query);
  assert.equal(el.querySelector("th[aria-sort=ascending]")?.textContent, "cost ▲");
  assert.equal(el.querySelector(".anb-runs-status")?.textContent, "");
  // anywhere on the head cell, not only on its words
  const cell = /** @type {HTMLElement} */ (el.querySelector("thead th[data-column='cost']"));
  cell.dispatchEvent(new window.MouseEvent("click", { bubbles: true }));
  assert.deepEqual(model.sent.at(-1).query.sort, { column: "cost", descending: true });
  answer(model, model.sent.at(-1).query);
  header().click();
  assert.equal(model.sent.at(-1).query.sort, null);
  assert.deepEqual(model.sent.map((/** @type {any} */ m) => m.id), [1, 2, 3]);
  cleanup();
});

test("a page answered while a head cell is pressed keeps the cell, so the click still lands", () => {
  // A browser fires a click only where the button went down and came up on the same cell:
  // a head drawn anew between the two (the last sort's page arriving) lost the click.
  const { model, el, cleanup } = mount();
  const cost = () => /** @type {HTMLElement} */ (el.querySelector("thead th[data-column='cost']"));
  const pressed = cost();
  pressed.click();
  answer(model, model.sent.at(-1).query);  // sorted up
  const narrow = parseFloat(pressed.style.width);
  const wide = rows(0, 20).map((row) => ({ ...row, cells: row.cells.map((c, i) => i === 3 ? ["0.000000123", ""] : c) }));
  pressed.click();
  answer(model, model.sent.at(-1).query, wide);  // sorted down, its figures wider
  assert.equal(cost(), pressed, "the same cell, sorted and sized anew");
  assert.equal(pressed.getAttribute("aria-sort"), "descending");
  assert.equal(pressed.textContent, "cost ▼");
  assert.ok(parseFloat(pressed.style.width) > narrow, `${pressed.style.width} after ${narrow}em`);
  pressed.click();
  answer(model, model.sent.at(-1).query);
  assert.equal(pressed.getAttribute("aria-sort"), "none");
  assert.equal(pressed.textContent, "cost");
  cleanup();
});

test("typing in the search box and a filter asks once typing pauses, from the first page", async () => {
  const { model, $, el, cleanup } = mount();
  $(".anb-runs-next").click();
  assert.equal(model.sent.at(-1).query.offset, 20);
  answer(model, model.sent.at(-1).query, rows(20, 20));
  assert.equal($(".anb-runs-range").textContent, "21–40 of 45");
  const box = /** @type {HTMLInputElement} */ ($(".anb-runs-search"));
  for (const text of ["N", "NV", "NVDA"]) {
    box.value = text;
    box.dispatchEvent(new window.Event("input", { bubbles: true }));
  }
  const filter = /** @type {HTMLInputElement} */ (el.querySelector("input.anb-runs-filter[data-column='cost']"));
  filter.value = ">10";
  filter.dispatchEvent(new window.Event("input", { bubbles: true }));
  assert.equal(model.sent.length, 1, "nothing asked while typing");
  await new Promise((resolve) => setTimeout(resolve, TYPING_MS + 50));
  assert.equal(model.sent.length, 2);
  const { query } = model.sent.at(-1);
  assert.equal(query.search, "NVDA");
  assert.deepEqual(query.filters, { cost: ">10" });
  assert.equal(query.offset, 0);
  cleanup();
});

test("keys typed in the table's inputs stay in the table", () => {
  const { $, cleanup } = mount();
  /** @type {string[]} */
  const reached = [];
  const onKey = (/** @type {KeyboardEvent} */ e) => reached.push(e.key);
  document.addEventListener("keydown", onKey);
  for (const key of ["Enter", "a", "b"]) {
    $(".anb-runs-search").dispatchEvent(new window.KeyboardEvent("keydown", { key, shiftKey: key === "Enter", bubbles: true }));
  }
  document.removeEventListener("keydown", onKey);
  assert.deepEqual(reached, []);
  cleanup();
});

test("a total counted up to a cap reads N+, pages on past it, and Last asks the kernel for the end", () => {
  const { model, $, cleanup } = mount({ total: 30, exact: false });
  const range = $(".anb-runs-range");
  const next = /** @type {HTMLButtonElement} */ ($(".anb-runs-next"));
  const last = /** @type {HTMLButtonElement} */ ($(".anb-runs-last"));
  assert.equal(range.textContent, "1–20 of 30+");
  next.click();
  assert.equal(model.sent.at(-1).query.offset, 20);
  model.set("page", { id: model.sent.at(-1).id, rows: rows(20, 20), total: 40, exact: false, offset: 20, columns: TITLES, query: model.sent.at(-1).query, error: null });
  assert.equal(range.textContent, "21–40 of 40+");
  assert.ok(!next.disabled && !last.disabled);  // more than 40 match: the pager goes on
  last.click();
  const asked = model.sent.at(-1);
  assert.equal(asked.query.last, true);
  model.set("page", { id: asked.id, rows: rows(100, 20), total: 120, exact: true, offset: 100, columns: TITLES, query: asked.query, error: null });
  assert.equal(range.textContent, "101–120 of 120");
  assert.ok(next.disabled && last.disabled);
  $(".anb-runs-previous").click();
  assert.equal(model.sent.at(-1).query.offset, 80);
  assert.equal(model.sent.at(-1).query.last, false);
  cleanup();
});

test("rows are selected by a click, kept across pages, and Open and Compare send them", () => {
  const { model, el, $, saved, cleanup } = mount();
  const open = /** @type {HTMLButtonElement} */ ($(".anb-runs-open"));
  const compare = /** @type {HTMLButtonElement} */ ($(".anb-runs-compare"));
  assert.ok(open.disabled && compare.disabled);
  const row = (/** @type {number} */ i) => /** @type {HTMLElement} */ (el.querySelectorAll("tbody tr")[i]);
  row(0).click();
  assert.deepEqual(saved.at(-1), ["id0"]);
  assert.ok(!open.disabled && compare.disabled);
  assert.equal(row(0).getAttribute("aria-selected"), "true");
  $(".anb-runs-next").click();
  answer(model, model.sent.at(-1).query, rows(20, 20));
  row(1).click();
  assert.deepEqual(model.get("selection"), ["id0", "id21"]);
  assert.ok(open.disabled && !compare.disabled);
  assert.equal($(".anb-runs-selected").textContent, "2 selected");
  compare.click();
  assert.deepEqual(model.sent.at(-1), { kind: "compare", ids: ["id0", "id21"] });
  model.deliver({ kind: "notice", text: "Compare needs two runs or more", error: true });
  assert.ok($(".anb-runs-status").classList.contains("anb-runs-error"));
  row(1).click();
  open.click();
  assert.deepEqual(model.sent.at(-1), { kind: "open", ids: ["id0"] });
  $(".anb-runs-clear").click();
  assert.deepEqual(model.get("selection"), []);
  cleanup();
});

test("the scanned columns show; the others are in a row's details, which do not select it", () => {
  window.localStorage.clear();
  const { el, model, cleanup } = mount();
  const heads = [...el.querySelectorAll("thead tr:first-child th[data-column]")].map((th) => th.textContent);
  assert.deepEqual(heads, ["started", "agent", "message", "cost"]);
  const more = /** @type {HTMLButtonElement} */ (el.querySelector("tbody tr .anb-runs-more"));
  more.click();
  const details = /** @type {HTMLElement} */ (el.querySelector("tbody tr.anb-runs-detail"));
  assert.ok(details, "the details show under the row");
  assert.deepEqual([...details.querySelectorAll("dt")].map((dt) => dt.textContent), ["run"]);
  assert.equal(details.querySelector("dd")?.textContent, "run_0");
  assert.deepEqual(model.get("selection"), [], "opening the details selects nothing");
  const again = /** @type {HTMLButtonElement} */ (el.querySelector("tbody tr .anb-runs-more"));
  assert.equal(again.getAttribute("aria-expanded"), "true");
  again.click();
  assert.equal(el.querySelector("tbody tr.anb-runs-detail"), null);
  cleanup();
});

test("a column chosen in Columns shows, and the next table keeps the choice", () => {
  window.localStorage.clear();
  const first = mount();
  const summary = /** @type {HTMLElement} */ (first.el.querySelector(".anb-runs-columns summary"));
  assert.equal(summary.textContent, "Columns");
  const box = (/** @type {any} */ view, /** @type {string} */ title) =>
    /** @type {HTMLInputElement} */ (view.el.querySelector(`.anb-runs-choices input[data-column='${title}']`));
  box(first, "run").checked = true;
  box(first, "run").dispatchEvent(new window.Event("change", { bubbles: true }));
  const filter = /** @type {HTMLInputElement} */ (first.el.querySelector("input.anb-runs-filter[data-column='cost']"));
  filter.value = ">1";
  filter.dispatchEvent(new window.Event("input", { bubbles: true }));
  box(first, "cost").checked = false;
  box(first, "cost").dispatchEvent(new window.Event("change", { bubbles: true }));
  assert.deepEqual(first.model.sent.at(-1).query.filters, {}, "a hidden column filters nothing");
  const heads = (/** @type {any} */ view) =>
    [...view.el.querySelectorAll("thead tr:first-child th[data-column]")].map((th) => th.textContent);
  assert.deepEqual(heads(first), ["started", "agent", "message", "run"]);
  first.cleanup();
  const second = mount();
  assert.deepEqual(heads(second), ["started", "agent", "message", "run"], "kept for the next table");
  second.cleanup();
  window.localStorage.clear();
});

test("a bad request's error is shown, and cleanup removes the view and its listeners", () => {
  const { model, $, el, cleanup } = mount({ error: "cannot sort by 'x'" });
  assert.equal($(".anb-runs-status").textContent, "cannot sort by 'x'");
  cleanup();
  assert.equal(el.childElementCount, 0);
  assert.equal(model.listeners("change:page"), 0);
  assert.equal(model.listeners("msg:custom"), 0);
});

test("the built bundle (agentnb/static/runs_table.js) renders a page and cleans up", async () => {
  // A computed specifier, so tsc does not type-check the minified bundle.
  const bundle = new URL("../../agentnb/static/runs_table.js", import.meta.url).href;
  const built = (await import(bundle)).default;
  const model = fakeModel({ title: "t", columns: COLUMNS, selection: [], page: { id: 0, rows: rows(0, 3), total: 3, offset: 0, columns: TITLES } });
  const el = document.createElement("div");
  const cleanup = built.render({ model: /** @type {any} */ (model.proxy()), el });
  assert.equal(el.querySelectorAll("tbody tr").length, 3);
  cleanup();
  assert.equal(el.childElementCount, 0);
  assert.equal(model.listeners("change:page"), 0);
});

test("a row's ✓ / ✗ (thumbs up / down) sends its verdict with the note typed, without selecting it; the kept one is shown", async () => {
  const { model, el, cleanup } = mount({ verdicts: { id1: { value: false, comment: "too slow" } } });
  const row = (/** @type {string} */ id) => /** @type {HTMLElement} */ (el.querySelector(`tr[data-id='${id}']`));
  assert.equal(row("id1").querySelector(".anb-runs-down")?.getAttribute("aria-pressed"), "true");
  assert.equal(/** @type {HTMLTextAreaElement} */ (row("id1").querySelector(".anb-runs-note")).value, "too slow");
  const note = /** @type {HTMLTextAreaElement} */ (row("id0").querySelector(".anb-runs-note"));
  note.value = " right answer ";
  note.dispatchEvent(new window.Event("input", { bubbles: true }));
  assert.equal(/** @type {HTMLElement} */ (note.parentElement).dataset.note, " right answer ",
    "the note's box grows with its text (its hidden copy)");
  note.click();
  /** @type {HTMLElement} */ (row("id0").querySelector(".anb-runs-up")).click();
  assert.deepEqual(model.sent.at(-1), { kind: "verdict", id: "id0", value: true, comment: "right answer" });
  assert.deepEqual(model.get("selection"), [], "a verdict's clicks select nothing");
  model.set("page", { ...model.get("page"), verdicts: { id0: { value: true, comment: "right answer" } } });
  assert.equal(row("id0").querySelector(".anb-runs-up")?.getAttribute("aria-pressed"), "true");
  assert.equal(row("id1").querySelector(".anb-runs-down")?.getAttribute("aria-pressed"), "false");
  const meta = /** @type {HTMLInputElement} */ (el.querySelector(".anb-runs-meta"));
  meta.value = "user=alice";
  meta.dispatchEvent(new window.Event("input", { bubbles: true }));
  await new Promise((resolve) => setTimeout(resolve, TYPING_MS + 20));
  assert.equal(model.sent.at(-1).kind, "page");
  assert.equal(model.sent.at(-1).query.metadata, "user=alice");
  assert.equal(model.sent.at(-1).query.offset, 0);
  cleanup();
});

test("the rows are one tab stop: Tab passes the table, arrows move between its rows", () => {
  const { el, cleanup } = mount();
  const tabbable = () => /** @type {HTMLElement[]} */ ([...el.querySelectorAll("tbody button, tbody input, tbody textarea")])
    .filter((control) => control.tabIndex >= 0);
  const rowOf = (/** @type {Element} */ control) => /** @type {HTMLElement} */ (control.closest("tr")).dataset.id;
  assert.deepEqual([...new Set(tabbable().map(rowOf))], ["id0"], "only the first row's controls");
  assert.equal(tabbable().length, 5, "details, select, ✓, ✗ and the note");
  const box = /** @type {HTMLInputElement} */ (el.querySelector("tr[data-id=id0] input"));
  box.focus();
  box.dispatchEvent(new window.KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
  assert.equal(document.activeElement, el.querySelector("tr[data-id=id1] input"), "the same control a row down");
  assert.deepEqual([...new Set(tabbable().map(rowOf))], ["id1"]);
  const up = /** @type {HTMLElement} */ (el.querySelector("tr[data-id=id1] .anb-runs-up"));
  up.dispatchEvent(new window.KeyboardEvent("keydown", { key: "ArrowUp", bubbles: true }));
  assert.equal(document.activeElement, el.querySelector("tr[data-id=id0] .anb-runs-up"));
  const note = /** @type {HTMLElement} */ (el.querySelector("tr[data-id=id0] .anb-runs-note"));
  note.focus();
  note.dispatchEvent(new window.KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
  assert.equal(document.activeElement, note, "in a note the arrows move in its text");
  cleanup();
});

test("a search's page needs no more width than the scanned columns before it, whatever cost it finds", () => {
  window.localStorage.clear();
  const scanned = ["started", "agent", "status", "message", "model", "cost"];
  const searched = ["started", "agent", "status", "message", "match", "model", "cost"];
  const heads = searched.map((title) => ({
    title, about: title, type: title === "cost" ? "number" : "text", right: title === "cost",
  }));
  const row = (/** @type {string[]} */ texts) => ({ id: "a", cells: texts.map((text) => [text, ""]) });
  const model = fakeModel({
    title: "t", columns: heads, selection: [],
    page: { id: 0, rows: [row(["12:00:00", "echo", "completed", "q", "m", "$0.01"])], total: 1, offset: 0, columns: scanned },
  });
  const el = document.createElement("div");
  const cleanup = widget.render({ model: /** @type {any} */ (model.proxy()), el });
  const table = /** @type {HTMLElement} */ (el.querySelector(".anb-runs-table"));
  const before = parseFloat(table.style.minWidth);
  const widest = row(["12:00:00", "echo", "completed", "q", "…«w»", "m", "$0.000000000726"]);
  model.set("page", { id: 0, rows: [widest], total: 1, offset: 0, columns: searched });
  const shown = [...el.querySelectorAll("thead tr:first-child th[data-column]")].map((th) => th.textContent);
  assert.deepEqual(shown, ["started", "agent", "status", "message", "match", "cost"]);
  assert.ok(parseFloat(table.style.minWidth) <= before, `${table.style.minWidth} > ${before}em`);
  cleanup();
});
