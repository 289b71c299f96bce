// @ts-check
/**
 * The call tree inside a tool card: the text a sub-agent streamed inside the call (collapsed
 * until opened, the choice remembered), and the cards of the calls it made there.
 * Where each call goes is decided by `place` in state.js.
 */
import { formatCount } from "./format.js";
import { h, listen } from "./dom.js";

/**
 * Levels of nesting that indent; a deeper card stays at this indent and shows its depth, so a
 * tree 50 calls deep keeps its width (agentnb/_display/call_tree.py: MAX_INDENT).
 */
export const MAX_INDENT = 8;

/**
 * @typedef {import("./state.js").ToolState} ToolState
 * @typedef {import("./memory.js").Disclosure} Disclosure
 */

/** What a sub-agent streamed inside one call: its reasoning and its text, collapsed. */
export class SubAgentView {
  /** @param {{ signal: AbortSignal, remembered: Disclosure }} context */
  constructor({ signal, remembered }) {
    this.el = h("details", "anb-subagent");
    this.summary = h("summary", "anb-subagent-summary");
    this.reasoning = h("div", "anb-subagent-reasoning");
    this.reasoningText = document.createTextNode("");
    this.reasoning.append(this.reasoningText);
    this.text = h("div", "anb-subagent-text");
    this.textNode = document.createTextNode("");
    this.text.append(this.textNode);
    this.el.append(this.summary, this.reasoning, this.text);
    this.el.open = remembered.open === true;
    listen(this.el, "toggle", () => {
      remembered.open = this.el.open;
    }, signal);
    this.el.hidden = true;
    this.shownText = 0;
    this.shownReasoning = 0;
    this.label = "";
  }

  /**
   * @param {ToolState} call
   * @param {string | null} agent  the agent of the calls made inside, where known
   */
  update(call, agent) {
    const name = call.sub_agent || agent;
    const text = call.agent_text || "";
    const reasoning = call.agent_reasoning || "";
    this.el.hidden = text === "" && reasoning === "";
    if (this.el.hidden) return;
    this.shownText = append(this.textNode, text, this.shownText);
    this.shownReasoning = append(this.reasoningText, reasoning, this.shownReasoning);
    this.reasoning.hidden = reasoning === "";
    this.text.hidden = text === "";
    const who = name ? `Sub-agent ${name}` : "Sub-agent";
    const label = `${who} · ${formatCount(text.length + reasoning.length)} chars`;
    if (label !== this.label) {
      this.summary.textContent = label;
      this.label = label;
    }
  }
}

/**
 * Show `whole` in `node`, appending what grew since `shown` characters.
 * @param {Text} node @param {string} whole @param {number} shown @returns {number}
 */
function append(node, whole, shown) {
  if (whole.length > shown) node.appendData(whole.slice(shown));
  else if (whole.length < shown) node.data = whole;
  return whole.length;
}

/** The box inside a card that holds the cards of the calls made inside its call. */
export class ChildCalls {
  constructor() {
    this.el = h("div", "anb-tool-children");
    this.el.setAttribute("role", "group");
    this.el.hidden = true;
    /** The agent of the first call made inside, which names the sub-agent. */
    /** @type {string | null} */
    this.agent = null;
  }

  /**
   * @param {HTMLElement} card a child's card element
   * @param {ToolState} child
   */
  add(card, child) {
    this.el.append(card);
    this.el.hidden = false;
    if (this.agent === null && child.agent) this.agent = child.agent;
  }

  /** @param {string} name the parent call's name */
  label(name) {
    this.el.setAttribute("aria-label", `Calls made inside ${name}`);
  }
}

/**
 * A card's level as its data attributes: `data-level` up to MAX_INDENT (which indents), and
 * `data-deep` past it (which does not).
 * @param {HTMLElement} el @param {number} level
 */
export function markLevel(el, level) {
  el.dataset.level = String(Math.min(level, MAX_INDENT));
  if (level >= MAX_INDENT) el.dataset.deep = "true";
  else delete el.dataset.deep;
}
