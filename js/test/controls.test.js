// @ts-check
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatView } from "../src/chat.js";
import { PlanView } from "../src/plan.js";

const SESSION = {
  settings: [
    { id: "model", name: "Model", category: "model", current: "m1",
      choices: [{ value: "m1", name: "Model one" }, { value: "m2", name: "Model two" }] },
    { id: "mode", name: "Mode", category: "mode", current: "ask",
      choices: [{ value: "ask", name: "Ask" }, { value: "code", name: "Code" }] },
  ],
  commands: [
    { name: "review", label: "review", description: "Review the changes", hint: "" },
    { name: "test", label: "test", description: "Run the tests", hint: "which tests" },
  ],
  more_commands: 0,
};

function chat(session = /** @type {any} */ (SESSION)) {
  const model = fakeModel({ options: { input: true, can_followup: true, session } });
  const el = document.createElement("div");
  document.body.append(el);
  const view = new ChatView(el, /** @type {any} */ (model.proxy()), { schedule: () => () => {} });
  view.start();
  return { model, view, el };
}

/** @param {HTMLElement} el @param {string} key @param {boolean} [shiftKey] */
function press(el, key, shiftKey = false) {
  el.dispatchEvent(new window.KeyboardEvent("keydown", { key, shiftKey, cancelable: true, bubbles: true }));
}

/** @param {HTMLTextAreaElement} input @param {string} text */
function type(input, text) {
  input.value = text;
  input.dispatchEvent(new window.Event("input", { bubbles: true }));
}

test("the session's settings are selectors beside the input; a pick is sent as config", () => {
  const { model, el } = chat();
  const selects = /** @type {HTMLSelectElement[]} */ ([...el.querySelectorAll(".anb-setting-select")]);
  assert.deepEqual(selects.map((s) => [s.getAttribute("aria-label"), s.value]), [["Model", "m1"], ["Mode", "ask"]]);
  assert.ok(selects[0].closest(".anb-input-row"), "beside the input box");
  selects[0].value = "m2";
  selects[0].dispatchEvent(new window.Event("change"));
  assert.deepEqual(model.sent.at(-1), { kind: "config", id: "model", value: "m2" });
  model.set("options", { input: true, can_followup: true, session: { ...SESSION, settings: [] } });
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".anb-session")).hidden, true);
});

test("a pick shows pending until the kernel answers; refused, the selector goes back and says why", () => {
  const { model, el } = chat();
  const select = () => /** @type {HTMLSelectElement} */ (el.querySelector(".anb-setting-select"));
  const label = () => /** @type {HTMLElement} */ (select().closest(".anb-setting"));
  const error = () => /** @type {HTMLElement} */ (el.querySelector(".anb-session-error"));
  select().value = "m2";
  select().dispatchEvent(new window.Event("change"));
  assert.ok(label().classList.contains("anb-setting-pending"), "pending at once, before the kernel");
  assert.equal(select().getAttribute("aria-busy"), "true");
  assert.match(label().textContent || "", /setting…/);
  const pending = /** @type {any} */ (structuredClone(SESSION));
  pending.settings[0] = { ...pending.settings[0], current: "m2", pending: true };
  model.set("options", { input: true, can_followup: true, session: pending });
  assert.equal(select().value, "m2");
  assert.ok(label().classList.contains("anb-setting-pending"), "still pending as the kernel says");
  const refused = { ...SESSION, error: "Could not set Model to m2: <b>no</b> such model" };
  model.set("options", { input: true, can_followup: true, session: refused });
  assert.equal(select().value, "m1", "back as it was");
  assert.ok(!label().classList.contains("anb-setting-pending"));
  assert.equal(error().hidden, false);
  assert.equal(error().getAttribute("role"), "alert");
  assert.equal(error().textContent, "Could not set Model to m2: <b>no</b> such model", "as text");
  model.set("options", { input: true, can_followup: true, session: SESSION });
  assert.equal(error().hidden, true);
});

test("typing / offers the commands; arrows move, Enter takes one, Escape closes", () => {
  const { model, view, el } = chat();
  const input = /** @type {HTMLTextAreaElement} */ (view.chatInput?.input);
  const menu = /** @type {HTMLElement} */ (el.querySelector(".anb-slash"));
  assert.equal(menu.hidden, true);
  type(input, "/");
  assert.equal(menu.hidden, false);
  const names = () => [...menu.querySelectorAll(".anb-slash-name")].map((n) => n.textContent);
  assert.deepEqual(names(), ["/review", "/test"]);
  assert.match(menu.textContent || "", /which tests/);
  press(input, "ArrowDown");
  assert.equal(input.getAttribute("aria-activedescendant")?.endsWith("-1"), true);
  press(input, "Enter");
  assert.equal(input.value, "/test ");
  assert.equal(menu.hidden, true);
  assert.deepEqual(model.sent.filter((m) => m.kind === "send"), [], "Enter took the command, sent nothing");
  type(input, "/re");
  assert.deepEqual(names(), ["/review"]);
  press(input, "Escape");
  assert.equal(menu.hidden, true);
  press(input, "Enter");
  assert.deepEqual(model.sent.filter((m) => m.kind === "send"), [{ kind: "send", text: "/re" }]);
  type(input, "/tmp/x is empty");
  assert.equal(menu.hidden, true, "not a command word");
});

test("a plan is a checklist, redrawn as it changes, its entries as text", () => {
  const plan = new PlanView();
  plan.update({ entries: [
    { content: "read <b>the</b> code", status: "completed", priority: "high" },
    { content: "write the fix", status: "in_progress", priority: null },
    { content: "run the tests", status: "pending", priority: "low" },
  ], more: 9000 });
  const items = [...plan.el.querySelectorAll(".anb-plan-entry")];
  assert.deepEqual(items.map((i) => /** @type {HTMLElement} */ (i).dataset.status),
    ["completed", "in_progress", "pending"]);
  assert.equal(plan.el.querySelector("b"), null, "markup stays text");
  assert.match(plan.el.textContent || "", /Plan · 1 of 9,003 done/);
  assert.match(plan.el.textContent || "", /9,000 more steps/);
  plan.update(null);
  assert.equal(plan.el.hidden, true);
});

test("hundreds of commands with markup: the menu lists some, as text, and says how many more", () => {
  const commands = Array.from({ length: 300 }, (_, n) => ({
    name: `cmd${n}<script>`, label: `cmd${n}<script>`, description: "<img src=x onerror=alert(1)>", hint: "",
  }));
  const { view, el } = chat(/** @type {any} */ ({ settings: [], commands, more_commands: 302 }));
  const input = /** @type {HTMLTextAreaElement} */ (view.chatInput?.input);
  type(input, "/");
  const menu = /** @type {HTMLElement} */ (el.querySelector(".anb-slash"));
  assert.equal(menu.querySelectorAll(".anb-slash-item").length, 50);
  assert.equal(menu.querySelector("script, img"), null, "markup stays text");
  assert.match(menu.textContent || "", /552 more: type to narrow/);
});

/** A paste of `files` (and no text) into `input`. @param {HTMLElement} input @param {File[]} files */
function paste(input, files) {
  const event = new window.Event("paste", { bubbles: true, cancelable: true });
  const items = files.map((file) => ({ kind: "file", type: file.type, getAsFile: () => file }));
  Object.defineProperty(event, "clipboardData", { value: { items } });
  input.dispatchEvent(event);
  return event;
}

/** @param {() => boolean} seen */
async function until(seen) {
  for (let i = 0; i < 200 && !seen(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(seen());
}

test("an image pasted into the input is a thumbnail, sent with the message as its image", async () => {
  const model = fakeModel({ options: { input: true, can_followup: true, can_paste: true, session: null } });
  const el = document.createElement("div");
  document.body.append(el);
  const view = new ChatView(el, /** @type {any} */ (model.proxy()), { schedule: () => () => {} });
  view.start();
  const input = /** @type {HTMLTextAreaElement} */ (view.chatInput?.input);
  const png = new window.File([new Uint8Array([137, 80, 78, 71])], "shot.png", { type: "image/png" });
  const svg = new window.File(["<svg/>"], "x.svg", { type: "image/svg+xml" });
  assert.equal(paste(input, [png, png]).defaultPrevented, true);
  const thumbs = () => [...el.querySelectorAll(".anb-pasted-thumb")];
  await until(() => thumbs().length === 2);
  assert.equal(/** @type {HTMLImageElement} */ (thumbs()[0]).src, "data:image/png;base64,iVBORw==");
  /** @type {HTMLButtonElement} */ (el.querySelector(".anb-pasted-remove")).click();
  assert.equal(thumbs().length, 1);
  paste(input, [svg]);
  assert.match(/** @type {HTMLElement} */ (el.querySelector(".anb-pasted-note")).textContent || "", /PNG, JPEG, GIF or WebP only/);
  type(input, "what is in it?");
  press(input, "Enter");
  assert.deepEqual(model.sent.at(-1), {
    kind: "send", text: "what is in it?", images: [{ type: "image/png", data: "iVBORw==" }],
  });
  assert.equal(thumbs().length, 0, "sent once");
  assert.equal(/** @type {HTMLElement} */ (el.querySelector(".anb-pasted")).hidden, true);
  assert.equal(paste(input, []).defaultPrevented, false, "text pastes as text");
});

test("a cell whose agent takes no images offers no paste", () => {
  const { el, view } = chat();
  const input = /** @type {HTMLTextAreaElement} */ (view.chatInput?.input);
  const png = new window.File([new Uint8Array([1])], "a.png", { type: "image/png" });
  assert.equal(paste(input, [png]).defaultPrevented, false);
  assert.equal(el.querySelector(".anb-pasted"), null);
});
