// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { backdrop, pinOffset } from "../src/pin.js";

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

test("a pinned head's colour is what shows behind its turn: layers laid over the first opaque one", () => {
  const page = document.createElement("div");
  page.style.backgroundColor = "rgb(17, 17, 17)";
  const tint = page.appendChild(document.createElement("div"));
  tint.style.backgroundColor = "rgba(255, 255, 255, 0.5)";
  const turn = tint.appendChild(document.createElement("div"));
  document.body.append(page);
  assert.equal(backdrop(turn), "rgb(136, 136, 136)");
  tint.style.backgroundColor = "transparent";
  assert.equal(backdrop(turn), "rgb(17, 17, 17)", "the dark page, not the theme's layout colour");
  document.body.append(tint);
  page.remove();
  assert.equal(backdrop(turn), null, "nothing painted: the stylesheet's colour stays");
});

test("a pinned head never covers a card waiting for a decision: it stops above the card", () => {
  const box = { headHeight: 30, turnBottom: 5000, headTop: -900 };
  const card = { top: 110, bottom: 400 };
  assert.equal(pinOffset({ ...box, visibleTop: 100, cards: [card] }), 980, "right above the card");
  assert.equal(pinOffset({ ...box, visibleTop: 200, cards: [card] }), 980, "goes with the card");
  assert.equal(pinOffset({ ...box, visibleTop: 50, cards: [card] }), 950, "clear of it: pinned");
  assert.equal(pinOffset({ ...box, visibleTop: 500, cards: [card] }), 1400, "past it: pinned");
  const above = { top: 60, bottom: 100 };
  assert.equal(pinOffset({ ...box, visibleTop: 100, cards: [card, above] }), 930,
    "above the card above too");
  assert.equal(pinOffset({ headTop: 0, headHeight: 30, turnBottom: 500, visibleTop: 100,
    cards: [{ top: 10, bottom: 400 }] }), 0, "a card right under the head: the head stays");
  assert.equal(pinOffset({ ...box, visibleTop: 50, cards: [card], cover: 40 }), 940,
    "nor does the band it covers under its edge");
});
