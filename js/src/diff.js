// @ts-check
/**
 * The diff a tool call writes, rendered: one row per line of its unified diff, marked as a
 * file head, a hunk, a line added or removed, or context, so a person reads what a write
 * changes instead of decoding an escaped string. The lines come from the kernel's shown call
 * (`approval.shown.diff`: the version the decision is bound to, each line made visible) or,
 * for a call nobody was asked about, from its arguments' `diff`; each is set as text, made
 * visible again (nothing in it is markup, starts a line or reorders text).
 */
import { h } from "./dom.js";
import { formatCount, visible } from "./format.js";

/** Lines of a diff shown before saying how many more there are (the kernel's DIFF_LINES). */
export const DIFF_LINES = 400;

/**
 * @typedef {import("./state.js").ToolState} ToolState
 */

/**
 * What one line of a unified diff is.
 * @param {string} line
 * @returns {"file" | "hunk" | "add" | "del" | "more" | "context"}
 */
export function lineKind(line) {
  if (line.startsWith("+++ ") || line.startsWith("--- ")) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  if (line.startsWith("… ")) return "more";
  return "context";
}

/**
 * The lines of the diff a call writes: the shown call's, else its arguments' `diff` (a
 * unified diff), at most DIFF_LINES and a line saying how many more; null when it writes
 * none.
 * @param {ToolState} call
 * @returns {string[] | null}
 */
export function diffOf(call) {
  const shown = call.approval?.shown?.diff;
  if (Array.isArray(shown)) return shown.length ? shown : null;
  const args = /** @type {Record<string, unknown> | null} */ (
    call.arguments && typeof call.arguments === "object" ? call.arguments : null);
  const diff = args?.diff;
  if (typeof diff !== "string" || !/^(--- |@@ )/.test(diff)) return null;
  const lines = diff.endsWith("\n") ? diff.slice(0, -1).split("\n") : diff.split("\n");
  if (lines.length <= DIFF_LINES) return lines;
  return [...lines.slice(0, DIFF_LINES),
    `… ${formatCount(lines.length - DIFF_LINES)} more lines of the diff`];
}

export class DiffView {
  constructor() {
    this.el = h("div", "anb-diff");
    this.el.hidden = true;
    this.shownKey = "";
  }

  /** @param {string[] | null} lines */
  update(lines) {
    const key = lines ? lines.join("\n") : "";
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.el.hidden = !lines;
    if (!lines) {
      this.el.replaceChildren();
      return;
    }
    const pre = h("pre", "anb-diff-lines");
    for (const line of lines) {
      const row = h("span", "anb-diff-line", visible(line));
      row.dataset.kind = lineKind(line);
      pre.append(row);
    }
    this.el.replaceChildren(h("div", "anb-tool-label", "What it writes"), pre);
  }
}
