// @ts-check
// A view tells the kernel that it exists, when it comes on screen and leaves it, and that it
// is gone (the kernel sends a cell with no view no frames, one no view shows a frame a
// second): a stand-in IntersectionObserver, installed before visibility.js makes its one
// observer, says what is on screen.
import "./dom.js";
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";

/** @type {((entries: { target: Element, isIntersecting: boolean }[]) => void) | null} */
let observed = null;
/** @type {Set<Element>} */
const watched = new Set();
/** @type {any} */ (globalThis).IntersectionObserver = class {
  /** @param {(entries: { target: Element, isIntersecting: boolean }[]) => void} callback */
  constructor(callback) {
    observed = callback;
  }
  /** @param {Element} el */
  observe(el) {
    watched.add(el);
  }
  /** @param {Element} el */
  unobserve(el) {
    watched.delete(el);
  }
};

const { ChatView } = await import("../src/chat.js");

/** @param {Element} el @param {boolean} isIntersecting */
function show(el, isIntersecting) {
  assert.ok(watched.has(el), "the view is watched");
  observed?.([{ target: el, isIntersecting }]);
}

/** A view of `model` (a new cell's by default) on the page. */
function mount(model = fakeModel()) {
  const el = document.createElement("div");
  document.body.append(el);
  const view = new ChatView(el, /** @type {any} */ (model.proxy()), { schedule: () => () => {} });
  view.start();
  return { model, view };
}

test("a view says it exists at the observer's first callback, seen or not, then each change, and that it is gone at its end", () => {
  const { model, view } = mount();
  assert.equal(model.seenReports.length, 0, "nothing is said before the observer says");
  show(view.root, false);
  const name = model.seenReports[0]?.view;
  assert.equal(typeof name, "string");
  assert.deepEqual(model.seenReports, [{ kind: "seen", view: name, seen: false }],
    "out of sight at first: said all the same (the kernel learns the view exists)");
  show(view.root, true);
  show(view.root, true);
  show(view.root, false);
  show(view.root, true);
  assert.deepEqual(model.seenReports.map((r) => r.seen), [false, true, false, true]);
  view.destroy();
  assert.deepEqual(model.seenReports.at(-1), { kind: "gone", view: name });
  assert.equal(watched.has(view.root), false);
  view.reportSeen(true);
  assert.equal(model.seenReports.length, 5, "a view gone says nothing more");
  assert.deepEqual(model.sent, [], "the reports are all it sent");
});

test("a view first seen on screen says so once", () => {
  const { model, view } = mount();
  show(view.root, true);
  show(view.root, true);
  assert.deepEqual(model.seenReports.map((r) => r.seen), [true]);
  view.destroy();
});

test("two views of one cell are told apart; one taken off the page is out of sight, not gone", () => {
  const first = mount();
  const second = mount(first.model);
  const reports = first.model.seenReports;
  show(first.view.root, true);
  show(second.view.root, true);
  const [one, two] = [reports[0].view, reports[1].view];
  assert.notEqual(one, two);
  first.view.root.remove(); // the notebook's windowing detached the cell
  show(first.view.root, false);
  assert.deepEqual(reports.at(-1), { kind: "seen", view: one, seen: false });
  first.view.destroy();
  assert.deepEqual(reports.filter((r) => r.view === one).map((r) => r.kind),
    ["seen", "seen", "gone"]);
  second.view.destroy();
  assert.deepEqual(reports.at(-1), { kind: "gone", view: two });
});

test("a view's hello names it, as its reports do", () => {
  const { model, view } = mount(fakeModel({ transcript: null }));
  show(view.root, false);
  const name = model.seenReports[0]?.view;
  assert.deepEqual(model.sent, [{ kind: "hello", have: -1, view: name }]);
  view.destroy();
});
