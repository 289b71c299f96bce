// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { QuestionBox } from "../src/question.js";

/** @param {any} asks */
function drawn(asks) {
  /** @type {any[]} */
  const replies = [];
  const box = new QuestionBox({
    signal: new AbortController().signal,
    reply: (callId, action, content) => replies.push([callId, action, content]),
  });
  document.body.append(box.el);
  box.update(/** @type {any} */ ({ call_id: "c1", name: "travel__book", status: "running", asks }));
  return { box, replies };
}

const FORM = {
  server: "travel",
  message: "Which date?",
  mode: "form",
  hidden: 3,
  fields: [
    { key: "date", label: "<b>Date</b>", kind: "string", required: true },
    { key: "seats", label: "Seats", kind: "integer", required: true, min: 1, max: 9, default: 2 },
    { key: "window", label: "Window", kind: "boolean" },
    { key: "class", label: "Class", kind: "choice", choices: [["eco", "Economy"], ["biz", "Business"]] },
  ],
};

test("a form shows its fields as text, typed, and submits what was typed", () => {
  const { box, replies } = drawn(FORM);
  assert.equal(box.el.hidden, false);
  assert.equal(box.el.querySelector("b"), null, "markup is text");
  const labels = [...box.el.querySelectorAll(".anb-question-label")].map((l) => l.textContent);
  assert.deepEqual(labels, ["<b>Date</b> *", "Seats *", "Window", "Class"]);
  assert.equal(box.el.querySelector(".anb-question-hidden")?.textContent,
    "3 more fields not shown (optional: left empty)");
  const [date, seats, window] = /** @type {HTMLInputElement[]} */ ([...box.el.querySelectorAll("input")]);
  assert.equal(seats.type, "number");
  assert.equal([seats.min, seats.max, seats.value].join(), "1,9,2");
  date.value = "2026-12-01";
  window.checked = true;
  const form = /** @type {HTMLFormElement} */ (box.el.querySelector("form"));
  form.requestSubmit();
  assert.deepEqual(replies, [["c1", "accept", { date: "2026-12-01", seats: 2, window: true }]]);
  assert.ok([...box.el.querySelectorAll("button")].every((b) => b.disabled), "sent once");
});

test("a link is opened only on the host the browser's own URL parser reads, the one it says", () => {
  /** @type {string[]} */
  const opened = [];
  const was = window.open;
  window.open = /** @type {any} */ ((/** @type {string} */ url) => { opened.push(url); return null; });
  try {
    // a kernel that read the host another way than the browser does: never opened
    const { box, replies } = drawn({ server: "s", message: "Sign in", mode: "url",
      url: "https://evil.example\\@accounts.google.com/", host: "accounts.google.com" });
    const open = /** @type {HTMLButtonElement} */ (box.el.querySelector(".anb-question-open"));
    assert.equal(open.disabled, true);
    assert.ok(!box.el.querySelector(".anb-question-host")?.textContent?.includes("accounts.google.com"));
    open.click();
    assert.deepEqual([opened, replies], [[], []]);
    const { box: plain } = drawn({ server: "s", message: "Pay", mode: "url",
      url: "https://Pay.Example.com/x", host: "pay.example.com" });
    /** @type {HTMLButtonElement} */ (plain.el.querySelector(".anb-question-open")).click();
    assert.deepEqual(opened, ["https://Pay.Example.com/x"]);
  } finally {
    window.open = was;
  }
});

test("the same question drawn again keeps what was typed; none hides the box", () => {
  const { box } = drawn(FORM);
  const date = /** @type {HTMLInputElement} */ (box.el.querySelector("input"));
  date.value = "typed";
  box.update(/** @type {any} */ ({ call_id: "c1", name: "t", status: "running", asks: { ...FORM } }));
  assert.equal(/** @type {HTMLInputElement} */ (box.el.querySelector("input")).value, "typed");
  box.update(/** @type {any} */ ({ call_id: "c1", name: "t", status: "succeeded", asks: null }));
  assert.equal(box.el.hidden, true);
});

test("a link says its host and is never a link to follow; a link that is not http is not offered", () => {
  const { box, replies } = drawn({ server: "s", message: "Pay", mode: "url",
    url: "https://pay.example.com/x", host: "pay.example.com" });
  assert.equal(box.el.querySelector(".anb-question-host")?.textContent, "Opens a page on pay.example.com");
  assert.equal(box.el.querySelector("a"), null);
  const decline = /** @type {HTMLButtonElement} */ (
    [...box.el.querySelectorAll("button")].find((b) => b.textContent === "Decline"));
  decline.click();
  assert.deepEqual(replies, [["c1", "decline", null]]);
  const { box: other } = drawn({ server: "s", message: "Run", mode: "url", url: "javascript:alert(1)", host: "" });
  const open = /** @type {HTMLButtonElement} */ (other.el.querySelector(".anb-question-open"));
  assert.equal(open.disabled, true);
});
