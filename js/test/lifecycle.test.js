// @ts-check
// Views re-created by the notebook: when a run ends agentnb refreshes the cell's output, and
// JupyterLab renders a new view into the same output node without cleaning up the old one.
import "./dom.js";
import { fakeModel, trackListeners } from "./dom.js";
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { ChatView } from "../src/chat.js";
import { OUTPUT_PREVIEW_CHARS } from "../src/parts.js";

const LONG_OUTPUT = `first line\n${"x".repeat(OUTPUT_PREVIEW_CHARS * 2)}`;
const RUNS = 15;

/** @type {(() => void)[]} */
const cleanups = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * One cell output showing a widget, re-rendered the way JupyterLab's widget renderer does it:
 * the node is cleared ("Loading widget...") and a new view is rendered into it; the old view's
 * cleanup is never called.
 * @param {ReturnType<typeof fakeModel>} model
 */
function cellOutput(model) {
  const node = document.createElement("div");
  document.body.append(node);
  /** @type {(() => void)[]} */
  const frames = [];
  /** @type {ChatView[]} */
  const views = [];
  cleanups.push(() => {
    for (const view of views) view.destroy();
    node.remove();
  });
  const output = {
    node,
    views,
    /** The view on the page. */
    get current() {
      return /** @type {ChatView} */ (views.at(-1));
    },
    render() {
      node.textContent = "Loading widget...";
      const el = document.createElement("div");
      const view = new ChatView(el, /** @type {any} */ (model.proxy()), {
        schedule: (cb) => {
          frames.push(cb);
          return () => {
            const i = frames.indexOf(cb);
            if (i >= 0) frames.splice(i, 1);
          };
        },
        copy: async () => {},
      });
      view.start();
      node.replaceChildren(el);
      views.push(view);
      return view;
    },
    runFrames() {
      while (frames.length) /** @type {() => void} */ (frames.shift())();
    },
    /** @param {string} selector */
    $(selector) {
      return /** @type {HTMLElement} */ (node.querySelector(selector));
    },
  };
  return output;
}

/** The state of turn `t` once its run has ended. @param {number} t */
function finishedTurn(t) {
  return {
    parts: [
      { kind: "reasoning", text: "Looking it up.", call_id: null },
      { kind: "tool", text: "", call_id: "call-1" },
      { kind: "text", text: `Answer **${t}**\n\n\`\`\`python\nprint(${t})\n\`\`\`\n`, call_id: null },
    ],
    tools: [
      { call_id: "call-1", name: "lookup", arguments: { t }, status: "succeeded", output: LONG_OUTPUT, duration: 0.2 },
    ],
    meta: { status: "completed", agent: "a", message: `question ${t}`, run_id: `run-${t}`, followups: ["And then?"] },
  };
}

/**
 * The kernel's side for one model: numbered frames, the synced transcript, and a snapshot
 * for every view that says hello.
 * @param {ReturnType<typeof fakeModel>} model
 */
function fakeKernel(model) {
  let seq = 0;
  /** @type {any[]} */
  const turns = [];
  let answered = 0;
  /** @param {any[]} ops */
  const delta = (ops) => {
    seq += 1;
    model.deliver({ kind: "delta", seq, ops });
  };
  return {
    /** Run turn `t` up to its tool call's output. @param {number} t */
    startRun(t) {
      delta([{ op: "turn", t, turn: { parts: [], tools: [], meta: { status: "running", agent: "a", message: `question ${t}`, started_at: 1 } } }]);
      delta([{ op: "part", t, i: 0, kind: "reasoning", text: "Looking it up." }]);
      delta([
        { op: "part", t, i: 1, kind: "tool", call_id: "call-1", text: "" },
        { op: "tool", t, call: { call_id: "call-1", name: "lookup", arguments: { t }, status: "running" } },
      ]);
      delta([{ op: "tool", t, call: { call_id: "call-1", status: "succeeded", output: LONG_OUTPUT, duration: 0.2 } }]);
    },
    /** The answer, the end of the run, and the transcript written. @param {number} t */
    endRun(t) {
      const done = finishedTurn(t);
      delta([{ op: "part", t, i: 2, kind: "text", text: done.parts[2].text }]);
      delta([{ op: "meta", t, meta: done.meta }]);
      turns[t] = done;
      model.set("transcript", { seq, turns: structuredClone(turns) });
    },
    /** Answer the hellos sent since the last call, like the controller does. */
    answerHellos() {
      const hellos = model.sent.filter((m) => m.kind === "hello").length;
      for (; answered < hellos; answered++) {
        model.deliver({ kind: "snapshot", seq, state: { turns: structuredClone(turns) } });
      }
    },
  };
}

/**
 * A run ends: the kernel refreshes the display twice (see agentnb/_widget.py), and each
 * refresh re-renders the output.
 * @param {ReturnType<typeof cellOutput>} output
 * @param {ReturnType<typeof fakeKernel>} kernel
 */
function refreshAfterRunEnd(output, kernel) {
  output.render();
  output.render();
  kernel.answerHellos();
  output.runFrames();
}

// Fifteen runs: a leak shows at each run's end (the checks in the loop), and every view a
// run's end made stays reachable here (JupyterLab never cleans one up), so each run costs
// more than the one before: fifty took 22 CPU-seconds, most of it jsdom's garbage collector.
test("over 15 run ends the live views and model listeners stay constant, DOM listeners only grow with the turns", () => {
  const listeners = trackListeners();
  cleanups.push(() => listeners.stop());
  const model = fakeModel({ options: { input: true, can_followup: true } });
  const kernel = fakeKernel(model);
  const output = cellOutput(model);
  output.render();
  kernel.answerHellos();
  output.runFrames();

  /** @type {number[]} */
  const listenersAfterEachRun = [];
  for (let t = 0; t < RUNS; t++) {
    const input = /** @type {HTMLTextAreaElement} */ (output.$(".anb-input-text"));
    input.value = `question ${t}`;
    input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
    assert.deepEqual(model.sent.at(-1), { kind: "send", text: `question ${t}` });
    kernel.startRun(t);
    output.runFrames();
    kernel.endRun(t);
    output.runFrames();
    refreshAfterRunEnd(output, kernel);

    assert.equal(output.current.memory.views.size, 1, `after run ${t}: one live view`);
    assert.equal(model.listeners("msg:custom"), 1);
    assert.equal(model.listeners("change:transcript"), 1);
    assert.equal(model.listeners("change:options"), 1);
    const root = output.current.root;
    const outside = listeners.targets().filter((target) => target instanceof window.Node && !root.contains(target));
    assert.deepEqual(outside, [], `after run ${t}: no listener left on a replaced view`);
    listenersAfterEachRun.push(listeners.count());
  }
  assert.equal(output.node.querySelectorAll(".anb-turn").length, RUNS);
  assert.equal(output.views.filter((view) => !view.stopped).length, 1);
  // The live view's listeners are its turns' buttons: the same number more per turn.
  const perTurn = listenersAfterEachRun.slice(1).map((n, i) => n - listenersAfterEachRun[i]);
  assert.deepEqual(new Set(perTurn).size, 1, `listeners added per run: ${perTurn.join(", ")}`);
});

test("an expanded tool output stays expanded when the run's end re-renders the view", async () => {
  const model = fakeModel();
  const kernel = fakeKernel(model);
  const output = cellOutput(model);
  output.render();
  kernel.answerHellos();
  kernel.startRun(0);
  output.runFrames();

  const details = /** @type {HTMLDetailsElement} */ (output.$(".anb-tool-output"));
  assert.equal(details.open, false);
  /** @type {HTMLElement} */ (details.querySelector("summary")).click();
  /** @type {HTMLButtonElement} */ (details.querySelector(".anb-show-all")).click();
  await new Promise((resolve) => setTimeout(resolve, 0)); // the toggle event is queued

  kernel.endRun(0);
  output.runFrames();
  const before = output.current;
  refreshAfterRunEnd(output, kernel);
  assert.notEqual(output.current, before);
  assert.equal(before.stopped, true);

  const rebuilt = /** @type {HTMLDetailsElement} */ (output.$(".anb-tool-output"));
  assert.notEqual(rebuilt, details);
  assert.equal(rebuilt.open, true);
  assert.equal(rebuilt.querySelector("pre")?.textContent, LONG_OUTPUT);
  assert.equal(/** @type {HTMLElement} */ (rebuilt.querySelector(".anb-show-all")).hidden, true);

  // Closing it is remembered too.
  /** @type {HTMLElement} */ (rebuilt.querySelector("summary")).click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  output.render();
  kernel.answerHellos();
  output.runFrames();
  assert.equal(/** @type {HTMLDetailsElement} */ (output.$(".anb-tool-output")).open, false);
});

test("reasoning the user re-opened stays open when the view is rebuilt", async () => {
  const model = fakeModel();
  const kernel = fakeKernel(model);
  const output = cellOutput(model);
  output.render();
  kernel.answerHellos();
  kernel.startRun(0);
  kernel.endRun(0);
  output.runFrames();
  const reasoning = /** @type {HTMLDetailsElement} */ (output.$(".anb-reasoning"));
  assert.equal(reasoning.open, false, "collapsed once the answer came");
  /** @type {HTMLElement} */ (reasoning.querySelector("summary")).click();
  await new Promise((resolve) => setTimeout(resolve, 0));
  refreshAfterRunEnd(output, kernel);
  assert.equal(/** @type {HTMLDetailsElement} */ (output.$(".anb-reasoning")).open, true);
});

test("render's cleanup removes every model and DOM listener the view added", async () => {
  const listeners = trackListeners();
  cleanups.push(() => listeners.stop());
  const widget = (await import("../src/widget.js")).default;
  const model = fakeModel({ options: { input: true, can_followup: true } });
  const el = document.createElement("div");
  document.body.append(el);
  cleanups.push(() => el.remove());
  const cleanup = widget.render({ model: /** @type {any} */ (model.proxy()), el });
  model.deliver({ kind: "snapshot", seq: 3, state: { turns: [finishedTurn(0)] } });
  await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
  assert.ok(el.querySelector(".anb-tool"));
  assert.ok(listeners.count() > 0);
  cleanup();
  assert.equal(listeners.count(), 0);
  assert.equal(model.listeners("msg:custom"), 0);
  assert.equal(model.listeners("change:transcript"), 0);
  assert.equal(model.listeners("change:options"), 0);
  assert.equal(el.childElementCount, 0);
});

test("a view off the page keeps listening while no newer view replaced it", () => {
  const model = fakeModel();
  const kernel = fakeKernel(model);
  const output = cellOutput(model);
  const view = output.render();
  kernel.answerHellos();
  output.runFrames();
  // A notebook that virtualises its cells takes those out of sight off the page.
  output.node.remove();
  kernel.startRun(0);
  output.runFrames();
  assert.equal(view.stopped, false);
  assert.ok(view.root.querySelector(".anb-tool"));
  document.body.append(output.node);
});

test("two views of one widget on the page both stay live", () => {
  const model = fakeModel();
  const kernel = fakeKernel(model);
  const first = cellOutput(model);
  const second = cellOutput(model);
  first.render();
  second.render();
  kernel.answerHellos();
  kernel.startRun(0);
  first.runFrames();
  second.runFrames();
  assert.equal(first.current.stopped, false);
  assert.equal(second.current.stopped, false);
  assert.equal(model.listeners("msg:custom"), 2);
  assert.ok(first.$(".anb-tool") && second.$(".anb-tool"));
});

test("a view replaced before it was ever seen on the page stops at the next message", () => {
  const model = fakeModel();
  const kernel = fakeKernel(model);
  const output = cellOutput(model);
  const orphan = output.render();
  output.node.replaceChildren(); // cleared before a frame ever saw the view attached
  const current = output.render();
  assert.equal(orphan.stopped, false, "the newer view was not on the page yet when it started");
  kernel.startRun(0);
  assert.equal(orphan.stopped, true);
  assert.equal(current.stopped, false);
  assert.equal(model.listeners("msg:custom"), 1);
});
