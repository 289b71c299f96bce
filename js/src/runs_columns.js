// @ts-check
/**
 * Which columns of the run table show, and how wide each is.
 *
 * A person's choice is kept in the browser's `localStorage` (one key for every table), not in
 * the widget's state: a widget's state lives and dies with one output, so a choice kept there
 * would be lost at the next `agentnb.runs()` (every re-run makes a new table), and the point
 * of choosing is that the next table looks the same. Where storage is refused (a sandboxed
 * frame, a private window) the choice lasts as long as the view.
 *
 * Widths are fixed (em) for every column but the message and a search's match, which share
 * the rest of the output's width: the table is as wide as its cell and never scrolls sideways at a notebook's
 * width with the columns a person scans. Ids, thread, error and the figures left out show in
 * a row's details (its ▸).
 */

/** The columns a person scans: when, agent, status, question, model (while searching: the
 * words around the match in its place), cost. */
export const DEFAULT_SHOWN = ["started", "agent", "status", "message", "match", "model", "cost"];
/** Shown whenever the page has it (a search's snippets), never offered to hide. */
export const ALWAYS = new Set(["match"]);
/** Share the width the others leave. */
export const FLEXIBLE = new Set(["message", "match"]);
/** The room a flexible column keeps before the table scrolls (em): alone, and beside the
 * other while searching. The message and the match then keep 5.5em less than the message and
 * the model did, more than the widest cost adds (4.1em), so a search needs no more width than
 * the scanned columns before it, whatever cost its page finds. */
export const FLEXIBLE_EM = 10;
export const SHARED_FLEXIBLE_EM = 7;
/** The least room a flexible column keeps where a figure wider than usual (a cost of 12 and
 * more characters) takes the rest of its share, so that the table still fits its output. */
export const MIN_FLEXIBLE_EM = 4;
/** @type {Record<string, number>} */
const WIDTHS_EM = {
  started: 8.4, agent: 8.5, status: 6.8, model: 9.5, tokens: 5.6, cost: 6.8,
  secs: 4.4, ttft: 4.4, tools: 4, unapproved: 6.5, error: 13, thread: 9.5, run: 9.5,
};
const OTHER_EM = 7;
/** The selection box and the details toggle. */
export const PICK_EM = 3.6;
const KEY = "agentnb.runs-table.columns";

/** @param {string} title */
export function widthEm(title) {
  return WIDTHS_EM[title] ?? OTHER_EM;
}

/** The titles a person chose last (in any table), or null when they chose none. */
export function loadChoice() {
  try {
    const stored = JSON.parse(globalThis.window?.localStorage?.getItem(KEY) || "null");
    return Array.isArray(stored) && stored.every((t) => typeof t === "string") ? stored : null;
  } catch {
    return null;
  }
}

/** @param {string[]} titles */
export function saveChoice(titles) {
  try {
    globalThis.window?.localStorage?.setItem(KEY, JSON.stringify(titles));
  } catch {
    // storage refused: the choice holds for this view only
  }
}
