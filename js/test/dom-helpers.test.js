// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { button, childController, flash, h, listen, plainButton } from "../src/dom.js";

test("h sets the class and the text as text", () => {
  const el = h("span", "a b", "<b>x</b>");
  assert.equal(el.tagName, "SPAN");
  assert.equal(el.className, "a b");
  assert.equal(el.textContent, "<b>x</b>");
  assert.equal(el.children.length, 0);
});

test("a button clicks once per click, keeps the click to itself, and goes quiet on abort", () => {
  const controller = new AbortController();
  let clicks = 0;
  let bubbled = 0;
  const parent = h("div");
  parent.addEventListener("click", () => (bubbled += 1));
  const el = button("Stop", "anb-stop", () => (clicks += 1), { signal: controller.signal, title: "Stop the run" });
  parent.append(el);
  assert.equal(el.type, "button");
  assert.equal(el.className, "anb-button anb-stop");
  assert.equal(el.getAttribute("aria-label"), "Stop the run");
  el.click();
  assert.equal(clicks, 1);
  assert.equal(bubbled, 0);
  controller.abort();
  el.click();
  assert.equal(clicks, 1);
});

test("plainButton has no handler; listen removes its listener on abort", () => {
  const el = plainButton("Copy", "anb-copy-code");
  assert.equal(el.title, "");
  const controller = new AbortController();
  let seen = 0;
  listen(el, "click", () => (seen += 1), controller.signal);
  el.click();
  controller.abort();
  el.click();
  assert.equal(seen, 1);
});

test("a child controller aborts with its parent, or alone without touching the parent", () => {
  const parent = new AbortController();
  const alone = childController(parent.signal);
  alone.abort();
  assert.equal(parent.signal.aborted, false);
  const child = childController(parent.signal);
  parent.abort();
  assert.equal(child.signal.aborted, true);
  assert.equal(childController(parent.signal).signal.aborted, true, "born from an aborted parent");
});

test("flash shows a label for a moment and puts the old one back", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const el = h("button", "", "Copy");
  flash(el, "Copied");
  assert.equal(el.textContent, "Copied");
  flash(el, "Copied");
  t.mock.timers.tick(1200);
  assert.equal(el.textContent, "Copy");
  flash(undefined, "nothing to do");
});
