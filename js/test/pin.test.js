// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { pinOffset } from "../src/pin.js";

test("a head in view stays in its place; above the view it comes down to the view's top", () => {
  const box = { headHeight: 30, turnBottom: 5000 };
  assert.equal(pinOffset({ ...box, headTop: 200, visibleTop: 100 }), 0, "in view: no offset");
  assert.equal(pinOffset({ ...box, headTop: -900, visibleTop: 100 }), 1000, "to the view's top");
  assert.equal(pinOffset({ ...box, headTop: -900, visibleTop: 0 }), 900);
});

test("a pinned head never leaves its turn: it goes with the turn's end", () => {
  assert.equal(pinOffset({ headTop: -900, headHeight: 30, turnBottom: 50, visibleTop: 100 }), 920);
  assert.equal(pinOffset({ headTop: -900, headHeight: 30, turnBottom: -880, visibleTop: 100 }), 0);
});
