// @ts-check
/**
 * The run history as a table to browse (`RunsTable`): the kernel holds the rows and sends one
 * page at a time. The view asks for a page with a custom message
 *   { kind: "page", id, query: { sort: {column, descending} | null, filters: {title: text},
 *     search, offset, limit, last? } }
 * and the kernel answers in the `page` trait ({ id, rows, total, exact, offset, columns,
 * query, error }), which a saved notebook keeps: reopened with its widget state, the table
 * shows the last page it showed. `exact: false` says more than `total` runs match (a search
 * counted up to a cap): the pager shows "of 10,000+" and asks for the last page with
 * `last: true`, the kernel counting to the end and answering where that page starts. Rows
 * are `{ id, cells: [[text, whole], ...] }` in the order of `page.columns`; every value goes
 * in as text (`textContent`, `title`), never as markup.
 *
 * Selected rows (kept across pages, by run id) are the `selection` trait, which Python reads
 * (`table.selected`). Open (one row) and Compare (two or more) ask the kernel, which shows the
 * run or the comparison below the table.
 *

 * The metadata box sends `query.metadata` ("user=alice team=red": runs whose metadata has
 * each). Each row ends with ✓ / ✗ and a note: a person's verdict, sent as
 *   { kind: "verdict", id, value: true | false, comment }
 * and kept by the kernel as the run's score `verdict`; the page's `verdicts` ({id: {value,
 * comment}}) says each shown run's current one.
 *
 * The table is as wide as its output (runs_columns.js): the columns a person scans show, the
 * others are a click away in Columns (the choice is kept for the next table) and in each
 * row's details (▸). A click anywhere on a column's head sorts by it.
 */
import { h, keepKeys, listen, plainButton } from "./dom.js";
import { fitNotes, noteBox } from "./note.js";
import {
  ALWAYS, DEFAULT_SHOWN, FLEXIBLE, FLEXIBLE_EM, MIN_FLEXIBLE_EM, PICK_EM, SHARED_FLEXIBLE_EM,
  loadChoice, saveChoice,
  widthEm,
} from "./runs_columns.js";

/**
 * @typedef {{ title: string, about: string, type: "time" | "number" | "text", right: boolean }} Head
 * @typedef {{ head: Head, index: number }} Placed a column and its cells' place in a row
 * @typedef {{ sort: { column: string, descending: boolean } | null,
 *   filters: Record<string, string>, search: string, metadata?: string, offset: number,
 *   limit: number, last?: boolean }} Query
 * @typedef {{ value: boolean, comment: string | null }} Verdict
 * @typedef {{ id: string, cells: [string, string][] }} Row
 * @typedef {{ id?: number, rows?: Row[], total?: number, exact?: boolean, offset?: number,
 *   columns?: string[], query?: Query, error?: string | null, verdicts?: Record<string, Verdict> }} PageWire
 * @typedef {{
 *   get(name: string): any,
 *   set(name: string, value: any): void,
 *   save_changes(): void,
 *   send(content: any): void,
 *   on(event: string, cb: (...args: any[]) => void): void,
 *   off(event: string, cb: (...args: any[]) => void): void,
 * }} TableModel
 */

/** Milliseconds typing may pause before the page is asked for. */
export const TYPING_MS = 250;
/** Milliseconds without an answer before the table says it waits for the kernel. */
const WAITING_MS = 4000;
const PAGE_SIZES = [20, 50, 100];
/** The verdict column: ✓, ✗ and the note's box, which wraps a longer note (em). */
const VERDICT_EM = 10;
/** Em per character of a figure (tabular digits and `$` at the table's font, with room). */
const NUMBER_EM = 0.64;
const NUMBER = new Intl.NumberFormat("en-US");
/** A row's controls: details, select, ✓, ✗ and the note. */
const ROW_CONTROLS = "button, input, textarea";

/** @returns {Query} */
function emptyQuery() {
  return { sort: null, filters: {}, search: "", metadata: "", offset: 0, limit: PAGE_SIZES[0] };
}

export class RunsTableView {
  /** @param {HTMLElement} el @param {TableModel} model */
  constructor(el, model) {
    this.el = el;
    this.model = model;
    this.lifetime = new AbortController();
    const signal = this.lifetime.signal;
    /** @type {PageWire} */
    const page = model.get("page") || {};
    /** @type {Query} */
    this.query = { ...emptyQuery(), ...(page.query || {}) };
    this.sent = page.id || 0;
    /** @type {Set<string>} */
    this.selected = new Set(model.get("selection") || []);
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typing = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.waiting = undefined;
    this.askedAt = 0;
    /** The columns the head's cells were built for: built again only when they change. */
    this.headTitles = "";
    /** Each head cell and its sort arrow, by column. @type {Map<string, {th: HTMLElement, arrow: HTMLElement}>} */
    this.headCells = new Map();
    /** The columns shown, by title (a person's last choice, else the ones scanned). */
    this.chosen = new Set(loadChoice() || DEFAULT_SHOWN);
    /** The rows whose details are open, by run id. @type {Set<string>} */
    this.expanded = new Set();
    /** @type {string | null} the row whose controls are in the tab order */
    this.currentRow = null;

    this.root = h("div", "agentnb-runs-view");
    keepKeys(this.root, signal);
    this.title = h("div", "anb-runs-title");
    this.search = h("input", "anb-runs-search");
    this.search.type = "search";
    this.search.placeholder = "Search questions, answers, reasoning and tools…";
    this.search.setAttribute("aria-label", "Search the runs");
    this.search.value = this.query.search;
    this.metadata = h("input", "anb-runs-meta");
    this.metadata.type = "text";
    this.metadata.placeholder = "metadata: user=alice";
    this.metadata.setAttribute("aria-label", "Keep the runs whose metadata has key=value");
    this.metadata.value = this.query.metadata || "";
    this.openButton = plainButton("Open", "anb-runs-open", "Show the selected run below");
    this.compareButton = plainButton(
      "Compare", "anb-runs-compare", "Show the selected runs side by side below",
    );
    this.clearButton = plainButton("Clear", "anb-runs-clear", "Select no run");
    this.count = h("span", "anb-runs-selected");
    this.chooser = h("details", "anb-runs-columns");
    const summary = h("summary", "anb-button", "Columns");
    summary.title = "Choose the columns shown (kept for the next table)";
    this.choices = h("div", "anb-runs-choices");
    this.choices.hidden = true;
    this.chooser.append(summary);
    const bar = h("div", "anb-runs-bar");
    bar.append(
      this.search, this.metadata, this.openButton, this.compareButton, this.clearButton,
      this.count, this.chooser,
    );

    this.table = h("table", "anb-runs-table");
    this.head = h("thead");
    this.body = h("tbody");
    this.table.append(this.head, this.body);
    const scroller = h("div", "anb-runs-scroll");
    scroller.append(this.table);

    this.status = h("div", "anb-runs-status");
    this.status.setAttribute("role", "status");
    this.range = h("span", "anb-runs-range");
    this.first = plainButton("«", "anb-runs-first", "First page");
    this.previous = plainButton("‹ Previous", "anb-runs-previous", "Previous page");
    this.next = plainButton("Next ›", "anb-runs-next", "Next page");
    this.last = plainButton("»", "anb-runs-last", "Last page");
    this.size = h("select", "anb-runs-size");
    this.size.setAttribute("aria-label", "Rows per page");
    for (const size of PAGE_SIZES) {
      const option = h("option", "", `${size} rows`);
      option.value = String(size);
      this.size.append(option);
    }
    this.size.value = String(this.query.limit);
    const pager = h("div", "anb-runs-pager");
    pager.append(this.first, this.previous, this.range, this.next, this.last, this.size);

    this.root.append(this.title, bar, this.choices, scroller, pager, this.status);
    el.append(this.root);

    /** @type {Map<string, HTMLInputElement>} */
    this.filterInputs = new Map();
    this.listenToControls(signal);
    const onPage = () => this.draw();
    const onMessage = (/** @type {any} */ msg) => this.notice(msg);
    model.on("change:page", onPage);
    model.on("msg:custom", onMessage);
    signal.addEventListener("abort", () => {
      model.off("change:page", onPage);
      model.off("msg:custom", onMessage);
    }, { once: true });
    this.draw();
  }

  /** @param {AbortSignal} signal */
  listenToControls(signal) {
    listen(this.search, "input", () => {
      this.query = { ...this.query, search: this.search.value, offset: 0 };
      this.askSoon();
    }, signal);
    listen(this.metadata, "input", () => {
      this.query = { ...this.query, metadata: this.metadata.value, offset: 0 };
      this.askSoon();
    }, signal);
    listen(this.openButton, "click", () => this.act("open"), signal);
    listen(this.compareButton, "click", () => this.act("compare"), signal);
    listen(this.clearButton, "click", () => {
      this.selected.clear();
      this.saveSelection();
    }, signal);
    listen(this.first, "click", () => this.goTo(0), signal);
    listen(this.previous, "click", () => this.goTo(this.query.offset - this.query.limit), signal);
    listen(this.next, "click", () => this.goTo(this.query.offset + this.query.limit), signal);
    listen(this.last, "click", () => {
      const page = this.page();
      if (page.exact === false) {  // more than the total counted: the kernel finds the end
        this.query = { ...this.query, last: true };
        this.ask();
        return;
      }
      const total = page.total || 0;
      this.goTo(Math.floor(Math.max(total - 1, 0) / this.query.limit) * this.query.limit);
    }, signal);
    listen(this.size, "change", () => {
      this.query = { ...this.query, limit: Number(this.size.value), offset: 0 };
      this.ask();
    }, signal);
    listen(this.head, "click", (/** @type {MouseEvent} */ event) => {
      const target = /** @type {Element} */ (event.target);
      const cell = target.closest("th[data-column]");  // the whole head cell, not only its words
      if (cell instanceof HTMLElement && cell.dataset.column) this.sortBy(cell.dataset.column);
    }, signal);
    listen(this.chooser, "toggle", () => {
      this.choices.hidden = !this.chooser.open;
    }, signal);
    listen(this.choices, "change", (/** @type {Event} */ event) => {
      const box = /** @type {HTMLInputElement} */ (event.target);
      if (box.dataset.column) this.choose(box.dataset.column, box.checked);
    }, signal);
    listen(this.head, "input", (/** @type {Event} */ event) => {
      const input = /** @type {HTMLInputElement} */ (event.target);
      const column = input.dataset.column;
      if (!column) return;
      const filters = { ...this.query.filters, [column]: input.value };
      if (!input.value) delete filters[column];
      this.query = { ...this.query, filters, offset: 0 };
      this.askSoon();
    }, signal);
    fitNotes(this.body, signal);
    listen(this.body, "keydown", (/** @type {KeyboardEvent} */ event) => this.moveBetweenRows(event), signal);
    listen(this.body, "focusin", (/** @type {FocusEvent} */ event) => {
      const tr = /** @type {Element} */ (event.target).closest("tr[data-id]");
      if (tr instanceof HTMLElement && tr.dataset.id !== this.currentRow) this.rove(tr.dataset.id || null);
    }, signal);
    listen(this.body, "click", (/** @type {MouseEvent} */ event) => {
      const target = /** @type {Element} */ (event.target);
      if (target.closest(".anb-runs-verdict")) {  // a verdict, not a selection
        const thumb = target.closest("button");
        if (thumb instanceof HTMLElement) this.giveVerdict(thumb);
        return;
      }
      const more = target.closest("button.anb-runs-more");
      if (more instanceof HTMLElement && more.dataset.id !== undefined) {
        this.toggleDetails(more.dataset.id);
        return;
      }
      const row = target.closest("tr");
      const id = row instanceof HTMLElement ? row.dataset.id : undefined;
      if (id === undefined) return;
      if (this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
      this.saveSelection();
    }, signal);
  }

  /** @returns {PageWire} */
  page() {
    return this.model.get("page") || {};
  }

  /** @param {number} offset */
  goTo(offset) {
    const page = this.page();
    const end = page.exact === false ? Infinity : Math.max((page.total || 0) - 1, 0);
    const clamped = Math.max(0, Math.min(offset, end));
    if (clamped === this.query.offset && !this.query.last) return;
    this.query = { ...this.query, offset: clamped, last: false };
    this.ask();
  }

  /** Up, then down, then the table's own order. @param {string} column */
  sortBy(column) {
    const sort = this.query.sort;
    let next = /** @type {Query["sort"]} */ ({ column, descending: false });
    if (sort && sort.column === column) next = sort.descending ? null : { column, descending: true };
    this.query = { ...this.query, sort: next, offset: 0 };
    this.ask();
  }

  /** Show or hide a column; the choice is kept for the next table. A hidden column keeps no
   * filter or sort (nothing unseen narrows the rows). @param {string} title @param {boolean} on */
  choose(title, on) {
    if (on) this.chosen.add(title);
    else this.chosen.delete(title);
    saveChoice([...this.chosen]);
    const filters = { ...this.query.filters };
    const hadFilter = !on && title in filters;
    delete filters[title];
    const sorted = !on && this.query.sort?.column === title;
    if (hadFilter || sorted) {
      this.query = { ...this.query, filters, sort: sorted ? null : this.query.sort, offset: 0 };
      this.ask();
    }
    this.draw();
  }

  /** @param {string} id */
  toggleDetails(id) {
    if (this.expanded.has(id)) this.expanded.delete(id);
    else this.expanded.add(id);
    this.draw();
  }

  askSoon() {
    clearTimeout(this.typing);
    this.typing = setTimeout(() => this.ask(), TYPING_MS);
  }

  ask() {
    clearTimeout(this.typing);
    this.sent += 1;
    this.askedAt = Date.now();
    this.model.send({ kind: "page", id: this.sent, query: this.query });
    this.drawStatus();
    clearTimeout(this.waiting);
    this.waiting = setTimeout(() => this.drawStatus(), WAITING_MS);
  }

  /** @param {"open" | "compare"} kind */
  act(kind) {
    this.model.send({ kind, ids: [...this.selected] });
    this.status.textContent = kind === "open" ? "Opening the run below…" : "Comparing below…";
  }

  /** A row's ✓ / ✗, with the note typed beside it. @param {HTMLElement} thumb */
  giveVerdict(thumb) {
    const row = thumb.closest("tr");
    const id = row instanceof HTMLElement ? row.dataset.id : undefined;
    if (id === undefined) return;
    const note = /** @type {HTMLTextAreaElement | null} */ (row?.querySelector(".anb-runs-note"));
    const comment = note?.value.trim() || null;
    this.model.send({ kind: "verdict", id, value: thumb.dataset.verdict === "up", comment });
    this.status.textContent = "Keeping the verdict…";
  }

  /** @param {any} msg */
  notice(msg) {
    if (!msg || msg.kind !== "notice") return;
    this.status.textContent = String(msg.text ?? "");
    this.status.classList.toggle("anb-runs-error", Boolean(msg.error));
  }

  saveSelection() {
    this.model.set("selection", [...this.selected]);
    this.model.save_changes();
    this.drawSelection();
  }

  draw() {
    const page = this.page();
    if (this.query.last && page.id === this.sent && !page.error) {  // where the last page starts
      this.query = { ...this.query, offset: page.offset || 0, last: false };
    }
    /** @type {Head[]} */
    const heads = this.model.get("columns") || [];
    const byTitle = new Map(heads.map((head) => [head.title, head]));
    /** @type {Placed[]} */
    const placed = (page.columns || []).map((title, index) => ({
      head: byTitle.get(title) || { title, about: "", type: "text", right: false },
      index,
    }));
    // While searching, the words around the match take the model's room (the model is in a
    // row's details): the question, cost and the verdict stay in view.
    const searching = placed.some(({ head }) => head.title === "match");
    const shown = placed.filter(({ head }) => ALWAYS.has(head.title)
      || (this.chosen.has(head.title) && !(searching && head.title === "model")));
    const folded = placed.filter((column) => !shown.includes(column));
    this.title.textContent = this.model.get("title") || "";
    this.drawChoices(placed);
    this.drawHead(shown, page.rows || []);
    this.drawBody(shown, folded, page.rows || [], page.verdicts || {});
    this.drawPager(page);
    this.drawSelection();
    this.drawStatus();
  }

  /** The Columns panel: a box per column the page has. @param {Placed[]} placed */
  drawChoices(placed) {
    const titles = placed.map(({ head }) => head.title).filter((t) => !ALWAYS.has(t));
    const key = JSON.stringify([titles, [...this.chosen]]);
    if (this.choices.dataset.key === key) return;
    this.choices.dataset.key = key;
    this.choices.hidden = !this.chooser.open;
    this.choices.replaceChildren(...titles.map((title) => {
      const label = h("label", "anb-runs-choice");
      const box = h("input");
      box.type = "checkbox";
      box.dataset.column = title;
      box.checked = this.chosen.has(title);
      label.append(box, ` ${title}`);
      return label;
    }));
  }

  /** The head: its cells built when the columns shown change, else kept (a browser fires a
   * click only where the button went down and came up on the same cell, so a head drawn
   * anew as a page arrives would lose a click), sized and marked for the sort each page.
   * @param {Placed[]} columns @param {Row[]} rows */
  drawHead(columns, rows) {
    const shown = columns.map(({ head }) => head);
    const titles = JSON.stringify(shown.map((head) => head.title));
    if (titles !== this.headTitles) {
      this.headTitles = titles;
      this.buildHead(shown);
    }
    this.sizeHead(columns, rows);
  }

  /** The head's cells, a title and a filter box per column shown. @param {Head[]} shown */
  buildHead(shown) {
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const keep = focused?.tagName === "INPUT" ? focused.dataset.column : undefined;
    const titles = h("tr");
    const filters = h("tr", "anb-runs-filters");
    const pick = h("th", "anb-runs-pick");
    pick.setAttribute("aria-label", "selected");
    pick.style.width = `${PICK_EM}em`;
    titles.append(pick);
    filters.append(h("th"));
    this.headCells.clear();
    for (const head of shown) {
      const th = h("th", head.right ? "anb-runs-right" : "");
      th.title = head.about;
      th.dataset.column = head.title;
      const sorter = h("button", "anb-runs-sort", head.title);
      sorter.type = "button";
      sorter.dataset.column = head.title;
      const arrow = h("span", "anb-runs-arrow");
      sorter.append(arrow);
      th.append(sorter);
      titles.append(th);
      this.headCells.set(head.title, { th, arrow });
      const cell = h("th");
      if (head.title !== "match") {
        const input = this.filterInputs.get(head.title) || h("input", "anb-runs-filter");
        input.dataset.column = head.title;
        input.placeholder = head.type === "text" ? "filter" : head.type === "time" ? ">=2025-01-31" : ">0";
        input.setAttribute("aria-label", `Filter ${head.title}`);
        input.value = this.query.filters[head.title] || "";
        this.filterInputs.set(head.title, input);
        cell.append(input);
      }
      filters.append(cell);
    }
    const verdict = h("th", "", "verdict");
    verdict.style.width = `${VERDICT_EM}em`;
    verdict.title = "Your verdict on the run (✓ / ✗, with a note): kept as its score verdict";
    titles.append(verdict);
    filters.append(h("th"));
    this.head.replaceChildren(titles, filters);
    if (keep) this.filterInputs.get(keep)?.focus();
  }

  /** Each head cell's width for the page's figures, and the sort's mark.
   * @param {Placed[]} columns @param {Row[]} rows */
  sizeHead(columns, rows) {
    const shown = columns.map(({ head }) => head);
    /** A number is never cut (a cut number is wrong information): its column is as wide as
     * the widest figure of the page. @type {Map<string, number>} */
    const widths = new Map(columns.map(({ head, index }) => {
      const chars = Math.max(0, ...rows.map((row) => (row.cells[index] || [""])[0].length));
      const em = head.right ? Math.max(widthEm(head.title), chars * NUMBER_EM + 1.3) : widthEm(head.title);
      return [head.title, em];
    }));
    const flexible = shown.filter((head) => FLEXIBLE.has(head.title)).length;
    // A figure wider than its column's usual width (a cost of a few billionths of a dollar)
    // takes its room from the question's, so the table still fits its output.
    const grown = shown.reduce((sum, head) => FLEXIBLE.has(head.title) ? sum
      : sum + Math.max(0, (widths.get(head.title) || 0) - widthEm(head.title)), 0);
    const flexibleEm = Math.max(MIN_FLEXIBLE_EM,
      (flexible > 1 ? SHARED_FLEXIBLE_EM : FLEXIBLE_EM) - grown / Math.max(1, flexible));
    let fixedEm = PICK_EM + VERDICT_EM;
    const sort = this.query.sort;
    for (const head of shown) {
      const cells = this.headCells.get(head.title);
      if (!cells) continue;
      if (FLEXIBLE.has(head.title)) {
        fixedEm += flexibleEm;
      } else {
        const em = widths.get(head.title) || widthEm(head.title);
        cells.th.style.width = `${em.toFixed(1)}em`;
        fixedEm += em;
      }
      const sorted = sort && sort.column === head.title;
      cells.th.setAttribute("aria-sort", sorted ? (sort.descending ? "descending" : "ascending") : "none");
      cells.arrow.textContent = sorted ? (sort.descending ? " ▼" : " ▲") : "";
    }
    // Columns share the output's width; past it (many columns chosen) the table scrolls.
    this.table.style.minWidth = `${fixedEm}em`;
  }

  /** @param {Placed[]} shown @param {Placed[]} folded @param {Row[]} rows
   * @param {Record<string, Verdict>} verdicts */
  drawBody(shown, folded, rows, verdicts) {
    /** Notes typed and not yet sent survive the page drawn again (a verdict kept). */
    const typed = new Map([...this.body.querySelectorAll("tr[data-id]")].map((tr) => [
      /** @type {HTMLElement} */ (tr).dataset.id,
      /** @type {HTMLTextAreaElement | null} */ (tr.querySelector(".anb-runs-note"))?.value || "",
    ]));
    const body = rows.flatMap((row) => {
      const tr = h("tr");
      tr.dataset.id = row.id;
      const open = this.expanded.has(row.id);
      const more = h("button", "anb-runs-more", open ? "▾" : "▸");
      more.type = "button";
      more.dataset.id = row.id;
      more.setAttribute("aria-expanded", String(open));
      more.setAttribute("aria-label", "details of this run");
      more.title = "Details: ids, thread, error and the columns not shown";
      const box = h("input");
      box.type = "checkbox";  // a click or Space on it toggles the row (the row's handler)
      box.setAttribute("aria-label", "select this run");
      const pick = h("td", "anb-runs-pick");
      pick.append(more, box);
      tr.append(pick);
      for (const { head, index } of shown) {
        const [text, whole] = row.cells[index] || ["", ""];
        const td = h("td", head.right ? "anb-runs-right" : "", text);
        if (whole || (head.type === "text" && text)) td.title = whole || text;
        if (head.title === "status" && text) td.dataset.status = text;
        tr.append(td);
      }
      tr.append(this.verdictCell(verdicts[row.id], typed.get(row.id) || ""));
      return open ? [tr, this.details(row, shown, folded)] : [tr];
    });
    if (!rows.length) {
      const empty = h("td", "anb-runs-empty", "No runs match.");
      empty.colSpan = shown.length + 2;
      const tr = h("tr");
      tr.append(empty);
      body.push(tr);
    }
    this.body.replaceChildren(...body);
    this.rove(this.currentRow);
  }

  /**
   * The rows are one tab stop, so Tab passes a table on its way down the notebook: only the
   * current row's controls (the first row's until one is focused) are in the tab order.
   * @param {string | null} id
   */
  rove(id) {
    const rows = /** @type {HTMLElement[]} */ ([...this.body.querySelectorAll("tr[data-id]")]);
    const current = rows.find((tr) => tr.dataset.id === id) || rows[0];
    this.currentRow = current?.dataset.id || null;
    for (const tr of rows) {
      for (const control of /** @type {NodeListOf<HTMLElement>} */ (tr.querySelectorAll(ROW_CONTROLS))) {
        control.tabIndex = tr === current ? 0 : -1;
      }
    }
  }

  /** ArrowUp / ArrowDown on a row's control: the same control a row up or down.
   * @param {KeyboardEvent} event */
  moveBetweenRows(event) {
    const control = /** @type {HTMLElement} */ (event.target);
    if (control.tagName === "TEXTAREA" || !control.matches(ROW_CONTROLS)) return;
    const step = { ArrowDown: "nextElementSibling", ArrowUp: "previousElementSibling" }[event.key];
    const tr = control.closest("tr[data-id]");
    if (!step || !tr) return;
    let next = /** @type {Element | null} */ (/** @type {any} */ (tr)[step]);
    while (next && !next.matches("tr[data-id]")) next = /** @type {any} */ (next)[step];
    const index = [...tr.querySelectorAll(ROW_CONTROLS)].indexOf(control);
    const target = /** @type {HTMLElement | undefined} */ (next?.querySelectorAll(ROW_CONTROLS)[index]);
    if (!next || !target) return;
    event.preventDefault();
    this.rove(/** @type {HTMLElement} */ (next).dataset.id || null);
    target.focus();
  }

  /** ✓ / ✗ and a note. @param {Verdict | undefined} kept @param {string} typed */
  verdictCell(kept, typed) {
    const td = h("td", "anb-runs-verdict");
    const line = h("div", "anb-runs-verdict-line");
    td.append(line);
    for (const [kind, label, value] of /** @type {const} */ ([["up", "✓", true], ["down", "✗", false]])) {
      const thumb = h("button", `anb-runs-${kind}`, label);
      thumb.type = "button";
      thumb.dataset.verdict = kind;
      thumb.title = value ? "A good run: kept as its score verdict = True"
        : "A bad run: kept as its score verdict = False";
      thumb.setAttribute("aria-pressed", String(kept !== undefined && kept.value === value));
      line.append(thumb);
    }
    line.append(noteBox("anb-runs-note", "note", typed || kept?.comment || "").fit);
    return td;
  }

  /** A row's details: the columns not shown, then the whole text of those cut short.
   * @param {Row} row @param {Placed[]} shown @param {Placed[]} folded */
  details(row, shown, folded) {
    const list = h("dl", "anb-runs-details");
    const add = (/** @type {string} */ title, /** @type {string} */ value) => {
      if (!value) return;
      list.append(h("dt", "", title), h("dd", "", value));
    };
    for (const { head, index } of folded) {
      const [text, whole] = row.cells[index] || ["", ""];
      add(head.title, whole || text);
    }
    for (const { head, index } of shown) {
      const [text, whole] = row.cells[index] || ["", ""];
      if (head.type === "text" && whole && whole !== text) add(head.title, whole);
    }
    if (!list.childElementCount) list.append(h("dd", "", "Nothing more to show."));
    const cell = h("td", "anb-runs-detail-cell");
    cell.colSpan = shown.length + 2;  // the pick, the columns shown and the verdict
    cell.append(list);
    const tr = h("tr", "anb-runs-detail");
    tr.append(cell);
    return tr;
  }

  /** @param {PageWire} page */
  drawPager(page) {
    const total = page.total || 0;
    const offset = page.offset || 0;
    const count = (page.rows || []).length;
    const more = page.exact === false;
    this.range.textContent = total
      ? `${NUMBER.format(offset + 1)}–${NUMBER.format(offset + count)} of ${NUMBER.format(total)}${more ? "+" : ""}`
      : "0 runs";
    this.first.disabled = this.previous.disabled = offset <= 0;
    this.next.disabled = this.last.disabled = more ? count < this.query.limit : offset + count >= total;
  }

  drawSelection() {
    for (const tr of /** @type {NodeListOf<HTMLElement>} */ (this.body.querySelectorAll("tr[data-id]"))) {
      const on = this.selected.has(tr.dataset.id || "");
      tr.classList.toggle("anb-runs-chosen", on);
      tr.setAttribute("aria-selected", String(on));
      const box = tr.querySelector("input");
      if (box) box.checked = on;
    }
    const n = this.selected.size;
    this.count.textContent = n ? `${n} selected` : "";
    this.openButton.disabled = n !== 1;
    this.compareButton.disabled = n < 2;
    this.clearButton.disabled = n === 0;
  }

  drawStatus() {
    const page = this.page();
    const pending = (page.id || 0) < this.sent;
    this.status.classList.toggle("anb-runs-error", Boolean(page.error) && !pending);
    if (page.error && !pending) {
      this.status.textContent = page.error;
      return;
    }
    if (!pending) {
      clearTimeout(this.waiting);
      this.status.textContent = "";
      return;
    }
    const late = Date.now() - this.askedAt >= WAITING_MS;
    this.status.textContent = late ? "Waiting for the kernel (is it running?)…" : "Loading…";
  }

  destroy() {
    clearTimeout(this.typing);
    clearTimeout(this.waiting);
    this.lifetime.abort();
    this.root.remove();
  }
}

/** @param {{ model: TableModel, el: HTMLElement }} context */
function render({ model, el }) {
  const view = new RunsTableView(el, model);
  return () => view.destroy();
}

export default { render };
