// @ts-check
/**
 * The parts of a turn's body: the markdown answer, the reasoning, the tool cards. Each gets
 * only what it needs from the turn it belongs to.
 */
import { blockCuts, sanitizeHtml } from "./markdown.js";
import {
  NO_RESULT_TITLE, costTitle, formatCount, formatSeconds, formatValue, oneLine, prettyJsonText,
  spentText, toolStatus, visible, visibleLines,
} from "./format.js";
import { button, childController, h, listen, plainButton, spinner } from "./dom.js";
import { ApprovalBox, withDecision } from "./approval.js";
import { QuestionBox } from "./question.js";
import { DiffView, diffOf } from "./diff.js";
import { ChildCalls, MAX_INDENT, SubAgentView, markLevel } from "./tree.js";
import { APP_MIME, AppBridge, appShown } from "./mcp_app.js";

/** Tool output characters shown before "Show all". */
export const OUTPUT_PREVIEW_CHARS = 2000;

/**
 * @typedef {import("./state.js").ToolState} ToolState
 * @typedef {import("./state.js").ShownState} ShownState
 * @typedef {import("./memory.js").Disclosure} Disclosure
 * @typedef {{
 *   renderMarkdown: (source: string) => DocumentFragment,
 *   copy: (text: string, feedback?: HTMLButtonElement) => void,
 *   signal: AbortSignal,
 * }} AnswerContext
 */

// ---- the answer ---------------------------------------------------------------------------

/**
 * Blocks per chunk of the answer. A full chunk is closed: `content-visibility: auto` lets the
 * browser skip its style, layout and paint while it is off screen (its text stays in the DOM,
 * found by find-in-page and copied with a selection). Per block this would be ~1,000 elements
 * to check each frame for a 100 KB answer; per chunk of 32 it is ~30.
 */
export const BLOCKS_PER_CHUNK = 32;

export class TextPartView {
  /** @param {AnswerContext} context */
  constructor({ renderMarkdown, copy, signal }) {
    this.renderMarkdown = renderMarkdown;
    this.el = h("div", "anb-answer");
    this.stableEnd = 0;
    /** @type {HTMLElement | null} */
    this.chunk = null;
    /** Full chunks to close at the start of the next update, while layout is still clean. */
    /** @type {HTMLElement[]} */
    this.fullChunks = [];
    this.open = this.newBlock();
    /** @type {string | null} */
    this.openSource = null;
    // One listener for every code block's Copy button: the open block is redrawn on each
    // frame, and per-button listeners would stay registered until the turn goes.
    listen(this.el, "click", (event) => copyCodeBlock(event, copy), signal);
  }

  newBlock() {
    if (!this.chunk || this.chunk.childElementCount >= BLOCKS_PER_CHUNK) {
      if (this.chunk) this.fullChunks.push(this.chunk);
      this.chunk = h("div", "anb-md-chunk");
      this.el.append(this.chunk);
    }
    const block = h("div", "anb-md-block");
    this.chunk.append(block);
    return block;
  }

  /**
   * Let the browser skip full chunks while they are off screen. Their height, read before
   * this frame changes anything (so no layout is forced), stands in for them until the
   * browser has remembered it.
   */
  closeFullChunks() {
    const heights = this.fullChunks.map((chunk) => chunk.getBoundingClientRect().height);
    this.fullChunks.forEach((chunk, i) => {
      if (heights[i] > 0) chunk.style.setProperty("contain-intrinsic-block-size", `auto ${heights[i]}px`);
      chunk.classList.add("anb-md-closed");
    });
    this.fullChunks = [];
  }

  /**
   * Render what changed; a long text (a whole answer arriving in one snapshot) is rendered
   * over several frames, a time budget per frame, so the page never freezes.
   * @param {string} text
   * @param {number} deadline  performance.now() after which to stop and resume next frame
   * @returns {boolean} true when the part is fully rendered (and its full chunks closed)
   */
  update(text, deadline) {
    if (this.fullChunks.length) this.closeFullChunks();
    if (text.length < this.stableEnd) {
      this.el.replaceChildren();
      this.stableEnd = 0;
      this.chunk = null;
      this.open = this.newBlock();
      this.openSource = null;
    }
    let rendered = 0;
    for (const cut of blockCuts(text, this.stableEnd)) {
      if (rendered > 0 && performance.now() > deadline) return false;
      rendered += 1;
      const source = text.slice(this.stableEnd, cut);
      if (source !== this.openSource) this.fill(this.open, source);
      this.open = this.newBlock();
      this.openSource = null;
      this.stableEnd = cut;
    }
    const rest = text.slice(this.stableEnd);
    if (rest !== this.openSource) {
      this.fill(this.open, rest);
      this.openSource = rest;
    }
    // A chunk filled now is closed next frame, even if the text is complete by then.
    return this.fullChunks.length === 0;
  }

  /** @param {HTMLElement} block @param {string} source */
  fill(block, source) {
    const fragment = this.renderMarkdown(source);
    for (const pre of Array.from(fragment.querySelectorAll("pre"))) decorateCode(pre);
    patchChildren(block, fragment);
  }
}

/**
 * Make `target`'s children those of `source` (which it takes them from), changing only what
 * differs: the block being written keeps its elements and text nodes, and new words are
 * appended to the text node they continue. The page then lays out what was added (a
 * paragraph replaced whole is shaped and laid out again at every frame: with many cells
 * streaming, that was most of the page's layout), and a selection in it stays.
 * @param {Element | DocumentFragment} target @param {Node} source
 */
export function patchChildren(target, source) {
  const wanted = Array.from(source.childNodes);
  const had = target.childNodes;
  for (let i = 0; i < wanted.length; i++) {
    const old = had[i];
    if (!old) {
      target.append(...wanted.slice(i));
      return;
    }
    if (!patchNode(old, wanted[i])) old.replaceWith(wanted[i]);
  }
  while (had.length > wanted.length) had[had.length - 1].remove();
}

const [ELEMENT_NODE, TEXT_NODE] = [1, 3];

/**
 * Make `old` equal to `next` in place where they are the same kind of node; false where it
 * must be replaced.
 * @param {Node} old @param {Node} next
 */
function patchNode(old, next) {
  if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) return false;
  if (old.nodeType === TEXT_NODE) {
    const [text, was, now] = [/** @type {Text} */ (old), old.nodeValue || "", next.nodeValue || ""];
    if (now === was) return true;
    if (now.startsWith(was)) text.appendData(now.slice(was.length));
    else text.data = now;
    return true;
  }
  if (old.nodeType !== ELEMENT_NODE) return false;
  const [was, now] = [/** @type {Element} */ (old), /** @type {Element} */ (next)];
  if (!sameAttributes(was, now)) return false;
  patchChildren(was, now);
  return true;
}

/** @param {Element} a @param {Element} b */
function sameAttributes(a, b) {
  if (a.attributes.length !== b.attributes.length) return false;
  for (const { name, value } of Array.from(a.attributes)) {
    if (b.getAttribute(name) !== value) return false;
  }
  return true;
}

/**
 * Wrap a code block in a box with its language and a Copy button.
 * @param {HTMLPreElement} pre
 */
export function decorateCode(pre) {
  const code = pre.querySelector("code");
  const language = /language-([\w+#.-]+)/.exec(code?.className || "")?.[1] || "";
  const box = h("div", "anb-code");
  const head = h("div", "anb-code-head");
  head.append(h("span", "anb-code-lang", language), plainButton("Copy", "anb-copy-code", "Copy the code"));
  pre.replaceWith(box);
  box.append(head, pre);
}

/**
 * @param {Event} event
 * @param {AnswerContext["copy"]} copy
 */
function copyCodeBlock(event, copy) {
  const target = /** @type {Element | null} */ (event.target);
  const copyButton = /** @type {HTMLButtonElement | null} */ (target?.closest?.(".anb-copy-code") ?? null);
  if (!copyButton) return;
  event.stopPropagation();
  const pre = copyButton.closest(".anb-code")?.querySelector("pre");
  copy(pre?.textContent || "", copyButton);
}

// ---- the reasoning ------------------------------------------------------------------------

export class ReasoningPartView {
  /** @param {{ signal: AbortSignal, remembered: Disclosure }} context */
  constructor({ signal, remembered }) {
    this.el = h("details", "anb-reasoning");
    const summary = h("summary", "anb-reasoning-summary");
    this.spin = spinner();
    this.label = h("span", "anb-reasoning-label", "Thinking…");
    summary.append(this.spin, this.label);
    this.body = h("div", "anb-reasoning-text");
    this.textNode = document.createTextNode("");
    this.body.append(this.textNode);
    this.el.append(summary, this.body);
    this.shown = 0;
    // A choice the user made in a view this one replaces wins over the automatic collapse.
    this.userToggled = remembered.open !== null;
    this.el.open = remembered.open ?? true;
    this.autoCollapsed = false;
    listen(summary, "click", () => {
      this.userToggled = true;
    }, signal);
    listen(this.el, "toggle", () => {
      if (this.userToggled) remembered.open = this.el.open;
    }, signal);
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

// ---- a tool call --------------------------------------------------------------------------

export class ToolCardView {
  /**
   * `decide` sends a human's decision on a call awaiting approval to the kernel; `subAgent`
   * remembers whether the sub-agent's text inside the call was opened.
   * `card` remembers whether the user unfolded or folded the card itself.
   * `apps` is the cell's channel for an MCP App view's calls (mcp_app.js).
   * @param {{ signal: AbortSignal, remembered: Disclosure,
   *   decide: import("./approval.js").Decide, subAgent?: Disclosure, card?: Disclosure,
   *   apps?: import("./mcp_app.js").AppChannel | null,
   *   reply?: import("./question.js").Reply }} context  `reply`: the person's reply to a
   *   question the running call asks (question.js)
   */
  constructor({ signal, remembered, decide, subAgent, card, apps, reply }) {
    this.signal = signal;
    this.apps = apps ?? null;
    /** The MCP App view shown, its lifetime. @type {AbortController | null} */
    this.app = null;
    this.remembered = remembered;
    this.card = card ?? { open: null, full: false };
    this.el = h("div", "anb-tool");
    this.el.setAttribute("role", "group");
    const head = h("div", "anb-tool-head");
    // A card shows its details while the call runs or waits for a decision and folds to its
    // head once done (the answer then starts near the question); a click on the head, or
    // the fold button from the keyboard, opens or folds it for good.
    this.fold = button("", "anb-tool-fold", () => this.toggleFold(), { signal, title: "Show details" });
    listen(head, "click", (event) => {
      if (event.target !== this.fold && !this.el.dataset.pinnedOpen) this.toggleFold();
    }, signal);
    this.icon = h("span", "anb-tool-icon");
    this.icon.setAttribute("aria-hidden", "true");
    this.name = h("span", "anb-tool-name");
    this.agent = h("span", "anb-tool-agent");
    this.agent.hidden = true;
    this.status = h("span", "anb-tool-status");
    this.depth = h("span", "anb-tool-depth");
    this.depth.hidden = true;
    this.tokens = h("span", "anb-tool-tokens");
    this.duration = h("span", "anb-tool-duration");
    head.append(this.fold, this.icon, this.name, this.agent, this.status, this.depth, this.tokens,
      this.duration);

    this.argsBox = h("div", "anb-tool-args");
    this.args = h("pre", "anb-pre");
    this.argsBox.append(h("div", "anb-tool-label", "Arguments"), this.args);
    // the diff a call nobody was asked about writes (an approval box shows its own)
    this.diff = new DiffView();

    this.output = h("details", "anb-tool-output");
    this.output.open = remembered.open === true;
    listen(this.output, "toggle", () => {
      remembered.open = this.output.open;
    }, signal);
    this.outputSummary = h("summary", "anb-tool-label", "Output");
    // what a notebook function returned as the notebook shows it (a figure, a table), above
    // the text the agent got
    this.shown = h("div", "anb-tool-shown");
    this.shown.hidden = true;
    this.shownFrom = /** @type {ShownState | null} */ (null);
    this.outputText = h("pre", "anb-pre");
    this.showAll = button("Show all", "anb-show-all", () => this.expandOutput(), { signal });
    this.showAll.hidden = true;
    this.output.append(this.outputSummary, this.shown, this.outputText, this.showAll);
    this.output.hidden = true;

    this.approval = new ApprovalBox({ signal, decide });
    this.question = new QuestionBox({ signal, reply: reply ?? (() => {}) });
    this.subAgent = new SubAgentView({ signal, remembered: subAgent ?? { open: null, full: false } });
    this.children = new ChildCalls();
    this.error = h("div", "anb-tool-error");
    this.error.hidden = true;
    this.el.append(
      head, this.argsBox, this.diff.el, this.approval.el, this.question.el, this.subAgent.el, this.children.el, this.output, this.error,
    );
    /** The call as last drawn. @type {ToolState | null} */
    this.call = null;
    this.outputFull = "";
    this.outputLabel = "";
    /** @type {number | null} */
    this.startedAt = null;
    this.running = false;
    this.ticking = false;
  }

  get expanded() {
    return this.remembered.full;
  }

  /**
   * How deep the call sits: the card indents up to MAX_INDENT levels, then says its depth.
   * @param {number} level
   */
  setLevel(level) {
    markLevel(this.el, level);
    this.depth.hidden = level <= MAX_INDENT;
    this.depth.textContent = this.depth.hidden ? "" : `depth ${level}`;
  }

  /**
   * Draw a call made inside this one.
   * @param {ToolCardView} card @param {ToolState} call
   */
  adopt(card, call) {
    this.children.add(card.el, call);
    if (this.call) this.subAgent.update(this.call, this.children.agent);
    this.showFold();
  }

  /** @param {ToolState} call */
  update(call) {
    this.call = call;
    const status = toolStatus(call.status);
    this.el.dataset.status = call.status;
    this.icon.replaceChildren(
      call.status === "running" ? spinner() : document.createTextNode(status.glyph),
    );
    const name = visible(call.name || "tool");
    this.name.textContent = name;
    this.agent.hidden = !call.agent;
    this.agent.textContent = call.agent || "";
    this.el.setAttribute("aria-label", `Tool call ${name}${call.agent ? ` by agent ${call.agent}` : ""}`);
    this.children.label(name);
    const where = call.ran_by === "client" ? " · in your notebook" : "";
    this.status.textContent = call.unapproved
      ? `${status.label}${where} · ⚠ without your approval`
      : withDecision(`${status.label}${where}`, call.approval);
    this.tokens.textContent = spentText(call);
    this.tokens.title = this.tokens.textContent ? costTitle(call) : "";
    if (call.status === "no_result") this.status.title = NO_RESULT_TITLE;
    else this.status.removeAttribute("title");
    this.running = call.status === "running" || call.status === "awaiting_approval";
    // The tool's own time, as the finished figure counts it: a person's wait is not in it.
    this.ticking = call.status === "running";
    this.startedAt = call.approval?.decided_at ?? call.started_at ?? null;
    this.duration.textContent =
      call.duration !== null && call.duration !== undefined ? formatSeconds(call.duration) : "";

    const args =
      call.arguments !== undefined && call.arguments !== null
        ? formatValue(call.arguments)
        : prettyJsonText(call.arguments_text || "");
    const shownArgs = visibleLines(args);
    if (this.args.textContent !== shownArgs) this.args.textContent = shownArgs;
    // A call that asked for a decision is shown in its approval box (every key, clipped values)
    this.argsBox.hidden = args === "" || Boolean(call.approval?.shown);
    this.diff.update(call.approval ? null : diffOf(call));

    // A running call's output is an interim one (the platform's progress), shown as such.
    const hasOutput = call.output !== undefined && call.output !== null;
    this.output.hidden = !hasOutput;
    if (hasOutput) this.setOutput(call);
    this.setShown(call);

    this.approval.update(call);
    this.question.update(call);
    this.subAgent.update(call, this.children.agent);
    const error = errorText(call);
    this.error.hidden = !error;
    this.error.textContent = error;
    this.showFold();
  }

  /**
   * Fold the card once its call is done, unless the user chose (see the constructor). A call
   * with a sub-agent's work inside (calls, text) stays whole: the tree is what it shows, as
   * in the static copy.
   */
  showFold() {
    const call = this.call;
    const tree = !this.children.el.hidden || Boolean(call?.agent_text || call?.agent_reasoning);
    // a call that ran without the user's approval stays whole: that is what must be seen
    const live = this.running || tree || Boolean(call?.unapproved);
    // a figure or a table a notebook function returned is shown, not folded away
    const open = live || (this.card.open ?? hasRichForm(call));
    // a call that runs or waits is always shown whole: its decision and progress are there
    if (live) this.el.dataset.pinnedOpen = "true";
    else delete this.el.dataset.pinnedOpen;
    this.el.dataset.folded = String(!open);
    this.fold.hidden = live;
    this.fold.setAttribute("aria-expanded", String(open));
    const name = visible(call?.name || "tool");
    const label = `${open ? "Hide" : "Show"} the details of ${name}`;
    this.fold.title = label;
    this.fold.setAttribute("aria-label", label);
  }

  toggleFold() {
    if (this.el.dataset.pinnedOpen) return;
    this.card.open = this.el.dataset.folded === "true";
    this.showFold();
  }

  /** @param {ToolState} call */
  setOutput(call) {
    const text = formatValue(call.output);
    const label = call.status === "running" ? "Output so far" : "Output";
    if (text === this.outputFull && label === this.outputLabel) return;
    this.outputFull = text;
    this.outputLabel = label;
    const total = call.output_chars ?? text.length;
    const cutByKernel = Boolean(call.output_truncated);
    this.outputText.textContent = this.expanded ? text : text.slice(0, OUTPUT_PREVIEW_CHARS);
    const preview = oneLine(call.output);
    this.outputSummary.textContent = `${label} (${formatCount(total)} chars)${
      preview ? ` — ${preview}` : ""
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

  /** @param {ToolState} call */
  setShown(call) {
    const shown = call.shown ?? null;
    if (shown === this.shownFrom) return;
    this.shownFrom = shown;
    this.shown.hidden = shown === null;
    this.app?.abort();
    this.app = null;
    const view = shown?.mime === APP_MIME ? appShown(shown.data) : null;
    if (view) {
      this.app = childController(this.signal);
      this.shown.replaceChildren(new AppBridge(view, this.apps, this.app.signal).el);
    } else if (shown?.mime === APP_MIME) {
      this.shown.replaceChildren(h("div", "anb-tool-shown-note", "The tool's view could not be read."));
    } else {
      this.shown.replaceChildren(...(shown ? [shownElement(shown, visible(call.name || "tool"))] : []));
    }
    // the output is open where it has a form to see, unless the person closed it
    if (hasRichForm(call) && this.remembered.open === null) this.output.open = true;
  }

  expandOutput() {
    this.remembered.full = true;
    this.outputText.textContent = this.outputFull;
    this.showAll.hidden = true;
  }

  /** @param {number} now kernel clock */
  tick(now) {
    if (this.ticking && typeof this.startedAt === "number") {
      this.duration.textContent = formatSeconds(Math.max(0, now - this.startedAt));
    }
  }
}

/** @param {ToolState | null} call */
function hasRichForm(call) {
  return Boolean(call?.shown && call.shown.mime !== "text/plain");
}

const SHOWN_IMAGE = /^image\/(?:png|jpeg)$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A notebook function's result as the notebook shows it: an image as an image (an SVG too: an
 * image runs no script), HTML through the answer's sanitizer, anything else as text.
 * @param {ShownState} shown @param {string} name the tool's
 * @returns {HTMLElement}
 */
function shownElement({ mime, data }, name) {
  if ((SHOWN_IMAGE.test(mime) && BASE64.test(data)) || mime === "image/svg+xml") {
    const img = h("img", "anb-tool-image");
    img.alt = `What ${name} returned`;
    img.src = mime === "image/svg+xml"
      ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data)}`
      : `data:${mime};base64,${data}`;
    return img;
  }
  if (mime === "text/html") {
    const box = h("div", "anb-tool-html");
    box.append(sanitizeHtml(data));
    return box;
  }
  return h("div", "anb-tool-shown-note", data);
}

/**
 * The line under a call: its error, or why it was denied (unless its approval says so).
 * @param {ToolState} call
 */
function errorText(call) {
  if (!call.error) return "";
  if (call.status !== "denied") return `Error: ${call.error}`;
  return call.approval?.decision_reason === call.error ? "" : `Denied: ${call.error}`;
}
