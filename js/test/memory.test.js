// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveViews, memoryFor, rememberUnder } from "../src/memory.js";

/** A view for `registry`: an element, and whether it was stopped. @param {LiveViews} registry */
function liveView(registry) {
  const view = {
    root: document.createElement("div"),
    attachedOnce: false,
    stopped: false,
    stop() {
      view.stopped = true;
      registry.delete(view);
    },
  };
  return view;
}

test("one memory per options object, kept when the options are replaced", () => {
  const options = {};
  const memory = memoryFor(options);
  assert.equal(memoryFor(options), memory);
  assert.notEqual(memoryFor({}), memory);
  const next = {};
  rememberUnder(next, memory);
  assert.equal(memoryFor(next), memory);
  const state = memory.disclosure("0/tool/c");
  assert.deepEqual(state, { open: null, full: false });
  assert.equal(memory.disclosure("0/tool/c"), state);
});

test("a newer view retires the older one that was taken off the page", () => {
  const registry = new LiveViews();
  const old = liveView(registry);
  registry.add(old);
  document.body.append(old.root);
  assert.equal(registry.isReplaced(old), false);
  assert.equal(old.attachedOnce, true);
  old.root.remove();
  const fresh = liveView(registry);
  registry.add(fresh);
  assert.equal(old.stopped, true);
  assert.equal(registry.size, 1);
});

test("a view never seen on the page is retired only once a newer one is on it", () => {
  const registry = new LiveViews();
  const first = liveView(registry);
  const second = liveView(registry);
  registry.add(first);
  registry.add(second);
  assert.equal(first.stopped, false, "restoring a notebook: both rendered before attached");
  document.body.append(second.root);
  assert.equal(registry.isReplaced(first), true);
  second.root.remove();
});

test("views on the page, or off it with none newer, are not replaced", () => {
  const registry = new LiveViews();
  const a = liveView(registry);
  const b = liveView(registry);
  document.body.append(a.root, b.root);
  registry.add(a);
  registry.add(b);
  assert.equal(registry.isReplaced(a), false);
  b.root.remove();
  assert.equal(registry.isReplaced(b), false, "the newest view, scrolled out of sight");
  a.root.remove();
});
