// @ts-check
/**
 * The chat cell's DOM. A view owns one SyncClient (its own copy of the transcript) and
 * redraws on animation frames only what the applied frames marked dirty: the block of the
 * answer being written, the reasoning text appended, a tool card, the status line.
 * Agent-provided strings reach the DOM only as text nodes, except the answer's markdown,
 * which goes through markdown.js (raw HTML off, DOMPurify).
 */
import { blockCuts, renderMarkdown } from "./markdown.js";
import { TERMINAL, answerText } from "./state.js";
import { SyncClient } from "./sync.js";
import {
  formatCount,
  formatSeconds,
  formatValue,
  prettyJsonText,
  statusLabel,
} from "./format.js";

/** Milliseconds of markdown rendering per animation frame before yielding to the page. */
export const FRAME_BUDGET_MS = 12;

/** Tool output characters shown before "Show all". */
export const OUTPUT_PREVIEW_CHARS = 2000;

/**
 * @typedef {import("./state.js").Turn} Turn
 * @typedef {import("./state.js").ToolState} ToolState
 * @typedef {import("./sync.js").WidgetModel} WidgetModel
 * @typedef {{ can_followup?: boolean, input?: boolean, placeholder?: string }} Options
 * @typedef {{
 *   schedule?: (cb: () => void) => () => void,
 *   copy?: (text: string) => Promise<void>,
 *   frameBudgetMs?: number,
 * }} ViewHooks
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * @param {string} label
 * @param {string} className
 * @param {() => void} onClick
 * @param {string} [title]
 */
function button(label, className, onClick, title) {
  const el = h("button", `anb-button ${className}`, label);
  el.type = "button";
  if (title) {
    el.title = title;
    el.setAttribute("aria-label", title);
  }
  el.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return el;
}

/** @param {string} text */
async function copyToClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", "anb-offscreen");
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** @param {() => void} cb */
function animationFrame(cb) {
  const id = requestAnimationFrame(cb);
  return () => cancelAnimationFrame(id);
}

function spinner() {
  const el = h("span", "anb-spinner");
  el.setAttribute("aria-hidden", "true");
  return el;
}

/**
 * The input box's draft, and whether it had the keyboard, shared by the views of one widget.
 * JupyterLab and Notebook 7 re-create a widget's view when its output is updated (agentnb
 * refreshes the static copy when a run ends), which would otherwise drop what the user was
 * typing and leave the keyboard on the page's body. anywidget hands each view its own model
 * proxy, so the key is the synced options object, which all the views of a model share.
 * @type {WeakMap<object, { draft: string, focused: boolean }>}
 */
const inputMemory = new WeakMap();

/** @param {object} key */
function inputMemoryFor(key) {
  let memory = inputMemory.get(key);
  if (!memory) {
    memory = { draft: "", focused: false };
    inputMemory.set(key, memory);
  }
  return memory;
}

// ---- parts ------------------------------------------------------------------------------

class TextPartView {
  /** @param {ChatView} root */
  constructor(root) {
    this.root = root;
    this.el = h("div", "anb-answer");
    this.stableEnd = 0;
    this.open = this.newBlock();
    /** @type {string | null} */
    this.openSource = null;
  }

  newBlock() {
    const block = h("div", "anb-md-block");
    this.el.append(block);
    return block;
  }

  /**
   * Render what changed; a long text (a whole answer arriving in one snapshot) is rendered
   * over several frames, a time budget per frame, so the page never freezes.
   * @param {string} text
   * @param {number} deadline  performance.now() after which to stop and resume next frame
   * @returns {boolean} true when the part is fully rendered
   */
  update(text, deadline) {
    if (text.length < this.stableEnd) {
      this.el.replaceChildren();
      this.stableEnd = 0;
      this.open = this.newBlock();
      this.openSource = null;
    }
    let rendered = 0;
    for (const cut of blockCuts(text, this.stableEnd)) {
      if (rendered > 0 && performance.now() > deadline) return false;
      rendered += 1;
      const source = text.slice(this.stableEnd, cut);
      if (source !== this.openSource) this.root.fillMarkdown(this.open, source);
      this.open = this.newBlock();
      this.openSource = null;
      this.stableEnd = cut;
    }
    const rest = text.slice(this.stableEnd);
    if (rest !== this.openSource) {
      this.root.fillMarkdown(this.open, rest);
      this.openSource = rest;
    }
    return true;
  }
}

class ReasoningPartView {
  constructor() {
    this.el = h("details", "anb-reasoning");
    this.el.open = true;
    const summary = h("summary", "anb-reasoning-summary");
    this.spin = spinner();
    this.label = h("span", "anb-reasoning-label", "Thinking…");
    summary.append(this.spin, this.label);
    this.body = h("div", "anb-reasoning-text");
    this.textNode = document.createTextNode("");
    this.body.append(this.textNode);
    this.el.append(summary, this.body);
    this.shown = 0;
    this.userToggled = false;
    this.autoCollapsed = false;
    summary.addEventListener("click", () => {
      this.userToggled = true;
    });
  }

  /** @param {string} text @returns {boolean} */
  update(text) {
    if (text.length > this.shown) {
      this.textNode.appendData(text.slice(this.shown));
    } else if (text.length < this.shown) {
      this.textNode.data = text;
    }
    this.shown = text.length;
    return true;
  }

  /** @param {boolean} active @param {boolean} answerStarted */
  setPhase(active, answerStarted) {
    this.spin.hidden = !active;
    this.label.textContent = active ? "Thinking…" : "Reasoning";
    this.el.dataset.active = String(active);
    if (answerStarted && !this.autoCollapsed && !this.userToggled) {
      this.el.open = false;
      this.autoCollapsed = true;
    }
  }
}

class ToolCardView {
  /** @param {ChatView} root */
  constructor(root) {
    this.root = root;
    this.el = h("div", "anb-tool");
    const head = h("div", "anb-tool-head");
    this.icon = h("span", "anb-tool-icon");
    this.icon.setAttribute("aria-hidden", "true");
    this.name = h("span", "anb-tool-name");
    this.status = h("span", "anb-tool-status");
    this.duration = h("span", "anb-tool-duration");
    head.append(this.icon, this.name, this.status, this.duration);

    this.argsBox = h("div", "anb-tool-args");
    this.args = h("pre", "anb-pre");
    this.argsBox.append(h("div", "anb-tool-label", "Arguments"), this.args);

    this.output = h("details", "anb-tool-output");
    this.outputSummary = h("summary", "anb-tool-label", "Output");
    this.outputText = h("pre", "anb-pre");
    this.showAll = button("Show all", "anb-show-all", () => this.expandOutput());
    this.showAll.hidden = true;
    this.output.append(this.outputSummary, this.outputText, this.showAll);
    this.output.hidden = true;

    this.error = h("div", "anb-tool-error");
    this.error.hidden = true;
    this.el.append(head, this.argsBox, this.output, this.error);
    this.outputFull = "";
    this.expanded = false;
    /** @type {number | null} */
    this.startedAt = null;
    this.running = false;
  }

  /** @param {ToolState} call */
  update(call) {
    this.el.dataset.status = call.status;
    this.icon.replaceChildren(call.status === "running" ? spinner() : statusGlyph(call.status));
    this.name.textContent = call.name || "tool";
    this.status.textContent = call.status;
    this.running = call.status === "running";
    this.startedAt = /** @type {any} */ (call).started_at ?? null;
    this.duration.textContent =
      call.duration !== null && call.duration !== undefined ? formatSeconds(call.duration) : "";

    const args =
      call.arguments !== undefined && call.arguments !== null
        ? formatValue(call.arguments)
        : prettyJsonText(call.arguments_text || "");
    if (this.args.textContent !== args) this.args.textContent = args;
    this.argsBox.hidden = args === "";

    const finished = call.status !== "running";
    const hasOutput = call.output !== undefined && call.output !== null;
    this.output.hidden = !(finished && hasOutput);
    if (finished && hasOutput) this.setOutput(call);

    this.error.hidden = !call.error;
    this.error.textContent = call.error ? `Error: ${call.error}` : "";
  }

  /** @param {ToolState} call */
  setOutput(call) {
    const text = formatValue(call.output);
    if (text === this.outputFull) return;
    this.outputFull = text;
    const total = call.output_chars ?? text.length;
    const cutByKernel = Boolean(call.output_truncated);
    const preview = this.expanded ? text : text.slice(0, OUTPUT_PREVIEW_CHARS);
    this.outputText.textContent = preview;
    const firstLine = text.split("\n", 1)[0].slice(0, 80);
    this.outputSummary.textContent = `Output (${formatCount(total)} chars)${
      firstLine ? ` — ${firstLine}` : ""
    }`;
    this.showAll.hidden = this.expanded || text.length <= OUTPUT_PREVIEW_CHARS;
    this.showAll.textContent = `Show all ${formatCount(text.length)} chars`;
    if (cutByKernel) {
      this.outputText.dataset.truncated = "true";
      this.outputText.title = `The kernel sent the first ${formatCount(text.length)} of ${formatCount(
        total,
      )} characters; the full output is in the run's tool_calls.`;
    }
  }

  expandOutput() {
    this.expanded = true;
    this.outputText.textContent = this.outputFull;
    this.showAll.hidden = true;
  }

  /** @param {number} now kernel clock */
  tick(now) {
    if (this.running && typeof this.startedAt === "number") {
      this.duration.textContent = formatSeconds(Math.max(0, now - this.startedAt));
    }
  }
}

/** @param {string} status */
function statusGlyph(status) {
  return document.createTextNode(status === "succeeded" ? "✓" : status === "failed" ? "✗" : "•");
}

// ---- one turn (a run and the message that started it) ----------------------------------

class TurnView {
  /** @param {ChatView} root @param {number} index */
  constructor(root, index) {
    this.root = root;
    this.index = index;
    this.el = h("section", "anb-turn");
    this.prompt = h("div", "anb-prompt");
    this.agent = h("span", "anb-agent");
    this.message = h("span", "anb-message");
    this.prompt.append(this.agent, this.message);

    this.body = h("div", "anb-body");
    this.waiting = h("div", "anb-waiting");
    this.waiting.append(spinner(), h("span", "", "Thinking…"));
    this.waiting.hidden = true;

    this.errorBanner = h("div", "anb-error");
    this.errorBanner.setAttribute("role", "alert");
    this.errorBanner.hidden = true;

    this.followups = h("div", "anb-followups");
    this.followups.hidden = true;

    const footer = h("div", "anb-footer");
    this.statusLine = h("div", "anb-status");
    this.state = h("span", "anb-state");
    this.state.setAttribute("role", "status");
    this.elapsed = h("span", "anb-elapsed");
    this.ttft = h("span", "anb-ttft");
    this.tokens = h("span", "anb-tokens");
    this.tps = h("span", "anb-tps");
    this.runId = h("span", "anb-runid");
    this.statusLine.append(this.state, this.elapsed, this.ttft, this.tokens, this.tps, this.runId);

    const actions = h("div", "anb-actions");
    this.stop = button("Stop", "anb-stop", () => this.onStop(), "Stop the run");
    this.copyAnswer = button("Copy answer", "anb-copy-answer", () => this.onCopyAnswer(),
      "Copy the answer as markdown");
    actions.append(this.stop, this.copyAnswer);
    footer.append(this.statusLine, actions);

    this.el.append(this.prompt, this.body, this.waiting, this.errorBanner, this.followups, footer);
    /** @type {(TextPartView | ReasoningPartView | ToolCardView)[]} */
    this.partViews = [];
    /** @type {Map<string, ToolCardView>} */
    this.cards = new Map();
    this.stopRequested = false;
    /** @type {Turn | null} */
    this.turn = null;
    this.followupKey = "";
    this.runIdShown = "";
  }

  /**
   * @param {Turn} turn
   * @param {number} deadline
   * @returns {boolean} true when everything dirty was drawn (else: continue next frame)
   */
  update(turn, deadline) {
    this.turn = turn;
    const grew = turn.parts.length > this.partViews.length;
    for (let i = this.partViews.length; i < turn.parts.length; i++) {
      this.addPart(turn, i);
    }
    /** @type {Set<number>} */
    const unfinished = new Set();
    for (const i of turn.dirtyParts) {
      const part = turn.parts[i];
      const view = this.partViews[i];
      if (part.kind === "tool" || !view || view instanceof ToolCardView) continue;
      if (!view.update(part.text, deadline)) unfinished.add(i);
    }
    for (const callId of turn.dirtyTools) {
      const call = turn.tools.get(callId);
      const card = this.cards.get(callId);
      if (call && card) card.update(call);
    }
    if (grew || turn.dirtyMeta) this.updatePhase(turn);
    if (turn.dirtyMeta) this.updateMeta(turn);
    turn.dirtyParts = unfinished;
    turn.dirtyTools.clear();
    turn.dirtyMeta = false;
    return unfinished.size === 0;
  }

  /** @param {Turn} turn @param {number} i */
  addPart(turn, i) {
    const part = turn.parts[i];
    /** @type {TextPartView | ReasoningPartView | ToolCardView} */
    let view;
    if (part.kind === "tool") {
      view = new ToolCardView(this.root);
      if (part.call_id) {
        this.cards.set(part.call_id, view);
        const call = turn.tools.get(part.call_id);
        if (call) view.update(call);
      }
    } else if (part.kind === "reasoning") {
      view = new ReasoningPartView();
    } else {
      view = new TextPartView(this.root);
    }
    this.partViews[i] = view;
    this.body.append(view.el);
  }

  /** @param {Turn} turn */
  updatePhase(turn) {
    const running = !TERMINAL.has(turn.meta.status || "pending");
    let answerAfter = false;
    for (let i = turn.parts.length - 1; i >= 0; i--) {
      const view = this.partViews[i];
      if (turn.parts[i].kind === "text") answerAfter = true;
      if (view instanceof ReasoningPartView) {
        view.setPhase(running && i === turn.parts.length - 1, answerAfter);
      }
    }
    this.waiting.hidden = !(running && turn.parts.length === 0);
  }

  /** @param {Turn} turn */
  updateMeta(turn) {
    const meta = turn.meta;
    const status = meta.status || "pending";
    const running = !TERMINAL.has(status);
    this.el.dataset.status = status;
    this.agent.textContent = meta.agent || "";
    this.message.textContent = meta.message || "";
    this.prompt.hidden = !meta.agent && !meta.message;

    this.state.dataset.status = status;
    this.state.textContent = this.stopRequested && running ? "Stopping…" : statusLabel(status);
    this.updateElapsed();
    this.ttft.textContent =
      meta.ttft !== null && meta.ttft !== undefined ? `first token ${formatSeconds(meta.ttft)}` : "";
    this.tokens.textContent = tokenText(meta.usage);
    this.tps.textContent =
      meta.tokens_per_second ? `${meta.tokens_per_second.toFixed(1)} tok/s` : "";
    this.updateRunId(meta.run_id || "");

    this.stop.hidden = !running;
    this.stop.disabled = this.stopRequested;
    this.copyAnswer.hidden = running;
    this.updateError(meta, status);
    this.updateFollowups(meta.followups || [], running);
  }

  updateElapsed() {
    const meta = this.turn?.meta;
    if (!meta) return;
    const running = !TERMINAL.has(meta.status || "pending");
    let seconds = meta.duration ?? null;
    if (running && typeof meta.started_at === "number") {
      seconds = Math.max(0, this.root.sync.kernelNow() - meta.started_at);
    }
    this.elapsed.textContent = seconds !== null ? formatSeconds(seconds) : "";
  }

  /** @param {string} runId */
  updateRunId(runId) {
    if (runId === this.runIdShown) return;
    this.runIdShown = runId;
    if (!runId) {
      this.runId.replaceChildren();
      return;
    }
    const code = h("code", "", runId);
    const copy = button("Copy", "anb-copy-id", () => this.root.copy(runId, copy), "Copy the run id");
    this.runId.replaceChildren("run ", code, copy);
  }

  /** @param {import("./state.js").MetaState} meta @param {string} status */
  updateError(meta, status) {
    const error = meta.error;
    const show = Boolean(error) && (status === "failed" || status === "interrupted");
    this.errorBanner.hidden = !show;
    if (!show || !error) {
      this.errorBanner.replaceChildren();
      return;
    }
    const title = h("strong", "anb-error-code", error.code || statusLabel(status));
    const message = h("span", "anb-error-message", error.message || "");
    const parts = [title, message];
    if (typeof error.retry_after === "number") {
      parts.push(h("span", "anb-error-retry", `Retry after ${formatSeconds(error.retry_after)}.`));
    }
    this.errorBanner.replaceChildren(...parts);
  }

  /** @param {string[]} followups @param {boolean} running */
  updateFollowups(followups, running) {
    const canRun = this.root.options.can_followup === true && this.root.isLastTurn(this.index);
    const key = JSON.stringify([followups, canRun, running]);
    if (key === this.followupKey) return;
    this.followupKey = key;
    this.followups.hidden = followups.length === 0;
    const chips = followups.map((text) => {
      /** @type {HTMLButtonElement} */
      const chip = canRun
        ? button(text, "anb-chip", () => this.root.send({ kind: "followup", text }), `Ask: ${text}`)
        : button(text, "anb-chip anb-chip-copy", () => this.root.copy(text, chip), "Copy question");
      chip.disabled = canRun && (running || this.root.sync.state.running);
      return chip;
    });
    this.followups.replaceChildren(...chips);
  }

  onStop() {
    this.stopRequested = true;
    this.stop.disabled = true;
    this.state.textContent = "Stopping…";
    this.root.send({ kind: "stop", t: this.index });
  }

  onCopyAnswer() {
    if (this.turn) this.root.copy(answerText(this.turn), this.copyAnswer);
  }

  /** @param {number} now */
  tick(now) {
    this.updateElapsed();
    for (const card of this.cards.values()) card.tick(now);
  }
}

/** @param {import("./state.js").UsageState | null | undefined} usage */
function tokenText(usage) {
  if (!usage) return "";
  const bits = [];
  if (usage.prompt_tokens !== null && usage.prompt_tokens !== undefined) {
    bits.push(`${formatCount(usage.prompt_tokens)} in`);
  }
  if (usage.completion_tokens !== null && usage.completion_tokens !== undefined) {
    bits.push(`${formatCount(usage.completion_tokens)} out`);
  }
  if (usage.total_tokens !== null && usage.total_tokens !== undefined) {
    bits.push(`${formatCount(usage.total_tokens)} total`);
  }
  return bits.length ? `tokens ${bits.join(" · ")}` : "";
}

// ---- the whole widget -------------------------------------------------------------------

export class ChatView {
  /**
   * @param {HTMLElement} el
   * @param {WidgetModel} model
   * @param {ViewHooks} [hooks]
   */
  constructor(el, model, hooks = {}) {
    this.el = el;
    this.model = model;
    this.schedule = hooks.schedule || animationFrame;
    this.copyImpl = hooks.copy || copyToClipboard;
    this.frameBudgetMs = hooks.frameBudgetMs ?? FRAME_BUDGET_MS;
    this.sync = new SyncClient(model, (why, text) => this.onSync(why, text));
    /** @type {Options} */
    this.options = model.get("options") || {};
    this.root = h("div", "agentnb anb-root");
    this.turnsEl = h("div", "anb-turns");
    this.notice = h("div", "anb-notice");
    this.notice.hidden = true;
    this.root.append(this.turnsEl, this.notice);
    /** @type {TurnView[]} */
    this.turnViews = [];
    this.generation = -1;
    /** @type {(() => void) | null} */
    this.cancelFrame = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.ticker = null;
    /** @type {HTMLFormElement | null} */
    this.form = null;
    /** @type {HTMLTextAreaElement | null} */
    this.input = null;
    /** @type {HTMLButtonElement | null} */
    this.sendButton = null;
    this.inputMemory = inputMemoryFor(this.options);
    /** @type {(() => void) | null} */
    this.cancelFocus = null;
    this.onOptions = this.onOptions.bind(this);
    this.buildInput();
    el.append(this.root);
  }

  start() {
    this.model.on("change:options", this.onOptions);
    this.sync.start();
    this.renderNow();
    this.restoreFocus();
  }

  destroy() {
    this.sync.stop();
    this.model.off("change:options", this.onOptions);
    if (this.cancelFrame) this.cancelFrame();
    this.cancelFrame = null;
    if (this.cancelFocus) this.cancelFocus();
    this.cancelFocus = null;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.root.remove();
  }

  onOptions() {
    this.options = this.model.get("options") || {};
    inputMemory.set(this.options, this.inputMemory);
    this.buildInput();
    for (const view of this.turnViews) view.followupKey = "";
    for (const turn of this.sync.state.turns) turn.dirtyMeta = true;
    this.requestRender();
  }

  /** @param {"snapshot" | "delta" | "notice"} why @param {string} [text] */
  onSync(why, text) {
    if (why === "notice") {
      this.notice.hidden = !text;
      this.notice.textContent = text || "";
      return;
    }
    this.requestRender();
  }

  requestRender() {
    if (this.cancelFrame) return;
    this.cancelFrame = this.schedule(() => {
      this.cancelFrame = null;
      this.renderNow();
    });
  }

  renderNow() {
    const state = this.sync.state;
    if (state.generation !== this.generation) {
      this.generation = state.generation;
      this.turnsEl.replaceChildren();
      this.turnViews = [];
    }
    const added = state.turns.length > this.turnViews.length;
    for (let t = this.turnViews.length; t < state.turns.length; t++) {
      const view = new TurnView(this, t);
      this.turnViews.push(view);
      this.turnsEl.append(view.el);
    }
    if (added) {
      // Only the last turn's chips may start a run.
      for (const view of this.turnViews) view.followupKey = "";
      for (const turn of state.turns) turn.dirtyMeta = true;
    }
    const deadline = performance.now() + this.frameBudgetMs;
    let finished = true;
    state.turns.forEach((turn, t) => {
      if (!this.turnViews[t].update(turn, deadline)) finished = false;
    });
    if (!finished) this.requestRender();
    const running = state.running;
    this.root.dataset.running = String(running);
    this.updateInput(running);
    this.setTicking(running);
  }

  /** @param {boolean} on */
  setTicking(on) {
    if (on && this.ticker === null) {
      this.ticker = setInterval(() => {
        const now = this.sync.kernelNow();
        for (const view of this.turnViews) view.tick(now);
      }, 250);
    } else if (!on && this.ticker !== null) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  buildInput() {
    const wanted = this.options.input === true;
    if (!wanted) {
      this.form?.remove();
      this.form = null;
      return;
    }
    if (this.form) return;
    const form = h("form", "anb-input");
    const input = h("textarea", "anb-input-text");
    input.rows = 2;
    input.placeholder = this.options.placeholder || "Ask a question (Enter to send, Shift+Enter for a new line)";
    input.setAttribute("aria-label", "Message");
    const memory = this.inputMemory;
    input.value = memory.draft;
    input.addEventListener("input", () => {
      memory.draft = input.value;
    });
    input.addEventListener("focus", () => {
      memory.focused = true;
    });
    input.addEventListener("blur", () => {
      // Chrome blurs a focused element that is being removed just before it goes: only a
      // box still on the page afterwards was left by the user.
      queueMicrotask(() => {
        if (input.isConnected) memory.focused = false;
      });
    });
    const send = h("button", "anb-button anb-send", "Send");
    send.type = "submit";
    form.append(input, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitInput();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submitInput();
      }
    });
    this.form = form;
    this.input = input;
    this.sendButton = send;
    this.root.append(form);
  }

  submitInput() {
    if (!this.input || this.sync.state.running) return;
    const text = this.input.value.trim();
    if (!text) return;
    this.send({ kind: "send", text });
    this.input.value = "";
    this.inputMemory.draft = "";
  }

  /**
   * Give the keyboard back to the input box if the box this view replaces had it, once the
   * view is on the page (the notebook attaches it after render), unless the user has moved on.
   * @param {number} [frames] how many more frames to wait for the view to be attached
   */
  restoreFocus(frames = 120) {
    this.cancelFocus = null;
    const input = this.input;
    if (!input || !this.inputMemory.focused) return;
    if (!input.isConnected) {
      if (frames > 0) this.cancelFocus = this.schedule(() => this.restoreFocus(frames - 1));
      return;
    }
    const active = document.activeElement;
    if (active === null || active === document.body) input.focus({ preventScroll: true });
  }

  /** @param {boolean} running */
  updateInput(running) {
    if (this.sendButton) this.sendButton.disabled = running;
  }

  /** @param {number} t */
  isLastTurn(t) {
    return t === this.sync.state.turns.length - 1;
  }

  /** @param {Record<string, unknown>} content */
  send(content) {
    this.notice.hidden = true;
    this.model.send(content);
  }

  /** @param {string} markdown @param {HTMLButtonElement} [feedback] */
  copy(markdown, feedback) {
    this.copyImpl(markdown).then(
      () => flash(feedback, "Copied"),
      () => flash(feedback, "Copy failed"),
    );
  }

  /** @param {HTMLElement} el @param {string} source */
  fillMarkdown(el, source) {
    const fragment = renderMarkdown(source);
    for (const pre of Array.from(fragment.querySelectorAll("pre"))) this.decorateCode(pre);
    el.replaceChildren(fragment);
  }

  /** @param {HTMLPreElement} pre */
  decorateCode(pre) {
    const code = pre.querySelector("code");
    const language = /language-([\w+#.-]+)/.exec(code?.className || "")?.[1] || "";
    const box = h("div", "anb-code");
    const head = h("div", "anb-code-head");
    head.append(h("span", "anb-code-lang", language));
    const copy = button("Copy", "anb-copy-code", () => this.copy(pre.textContent || "", copy),
      "Copy the code");
    head.append(copy);
    pre.replaceWith(box);
    box.append(head, pre);
  }
}

/** @param {HTMLButtonElement | undefined} el @param {string} label */
function flash(el, label) {
  if (!el) return;
  const before = el.dataset.label ?? el.textContent ?? "";
  el.dataset.label = before;
  el.textContent = label;
  setTimeout(() => {
    el.textContent = before;
    delete el.dataset.label;
  }, 1200);
}
