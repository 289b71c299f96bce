// @ts-check
/**
 * An experiment's question × arm grid (`RunsGrid`): each cell's **Open** shows its run below
 * the grid, each question's **Compare** its runs side by side, as the run table's buttons do
 * (the same messages: { kind: "open" | "compare", ids }). The kernel sends the grid whole in
 * the `grid` trait, every value plain text (set with `textContent`, never as markup).
 */
import { button, h, keepKeys } from "./dom.js";

/**
 * @typedef {{ id: string | null, answer: string, scores: string, errors: string[] }} GridCell
 * @typedef {{ question: string, expected: string, cells: GridCell[] }} GridRow
 * @typedef {{ title: string, arms: string[], expected: boolean, rows: GridRow[],
 *   notes: string[] }} Grid
 * @typedef {{ get(name: string): any, send(content: any): void,
 *   on(event: string, cb: (...args: any[]) => void): void,
 *   off(event: string, cb: (...args: any[]) => void): void }} GridModel
 */

/** @param {{ model: GridModel, el: HTMLElement }} context */
export function renderGrid({ model, el }) {
  const lifetime = new AbortController();
  const signal = lifetime.signal;
  const root = h("div", "agentnb-runs-view anb-grid-view");
  keepKeys(root, signal);
  const status = h("div", "anb-runs-status");
  status.setAttribute("role", "status");
  /** @param {string} kind @param {string[]} ids */
  const ask = (kind, ids) => {
    model.send({ kind, ids });
    status.classList.remove("anb-runs-error");
    status.textContent = kind === "open" ? "Opening…" : "Comparing…";
  };
  /** @type {Grid} */
  const grid = model.get("grid");
  const table = h("table", "anb-runs-table anb-grid");
  const heads = ["question", ...(grid.expected ? ["expected"] : []), ...grid.arms];
  const headRow = h("tr");
  for (const heading of heads) headRow.append(h("th", "", heading));
  table.append(h("thead"), h("tbody"));
  table.tHead?.append(headRow);
  for (const row of grid.rows) {
    const tr = h("tr");
    const question = h("th", "anb-grid-question");
    question.scope = "row";
    question.append(h("div", "", row.question));
    const ids = row.cells.flatMap((cell) => (cell.id ? [cell.id] : []));
    if (ids.length > 1) {
      const label = `Compare ${ids.length === 2 ? "both" : `all ${ids.length}`} runs`;
      question.append(button(label, "anb-grid-compare", () => ask("compare", ids), {
        signal, title: "Show this question's runs side by side below",
      }));
    }
    tr.append(question);
    if (grid.expected) tr.append(h("td", "", row.expected));
    row.cells.forEach((cell, index) => tr.append(gridCell(cell, grid.arms[index], ask, signal)));
    table.tBodies[0].append(tr);
  }
  const scroller = h("div", "anb-runs-scroll");
  scroller.append(table);
  root.append(h("div", "anb-runs-title", grid.title), scroller);
  for (const note of grid.notes) root.append(h("div", "anb-runs-range", note));
  root.append(status);
  el.append(root);
  const onMessage = (/** @type {any} */ msg) => {
    if (!msg || msg.kind !== "notice") return;
    status.textContent = String(msg.text ?? "");
    status.classList.toggle("anb-runs-error", Boolean(msg.error));
  };
  model.on("msg:custom", onMessage);
  return () => {
    model.off("msg:custom", onMessage);
    lifetime.abort();
    root.remove();
  };
}

/**
 * @param {GridCell} cell
 * @param {string} arm
 * @param {(kind: string, ids: string[]) => void} ask
 * @param {AbortSignal} signal
 */
function gridCell(cell, arm, ask, signal) {
  const td = h("td", "anb-grid-cell");
  td.append(h("div", "", cell.answer));
  if (cell.scores) td.append(h("div", "anb-grid-scores", cell.scores));
  for (const error of cell.errors) td.append(h("div", "anb-runs-error", error));
  const id = cell.id;
  if (id) {
    td.append(button("Open", "anb-grid-open", () => ask("open", [id]), {
      signal, title: `Show ${arm}'s run of this question below`,
    }));
  }
  return td;
}
