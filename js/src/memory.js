// @ts-check
/**
 * What the views of one widget share: the user's UI state (the input's draft and focus, which
 * outputs are expanded) and the registry of the views still live.
 *
 * JupyterLab and Notebook 7 re-create a widget's view when its output is rendered again (the
 * notebook's trust changes, a cell is moved, an older agentnb refreshed the view's own output
 * when a run ended), and the old view is not always cleaned up: its element is just taken off
 * the page. The new view restores the UI state from here, and
 * retires the views it replaced.
 *
 * anywidget hands each view its own model proxy, so the model object cannot be the key; the
 * synced `options` object is, because all the views of a model get that same object.
 */

/**
 * A disclosure the user can open or close: a tool's output, the reasoning.
 * `open` is null until the user chose; `full` is true once "Show all" was clicked.
 * @typedef {{ open: boolean | null, full: boolean }} Disclosure
 */

/**
 * @typedef {{ root: HTMLElement, attachedOnce: boolean, stop(): void }} LiveView
 */

/** The live views of one widget, oldest first. */
export class LiveViews {
  constructor() {
    /** @type {Set<LiveView>} */
    this.views = new Set();
  }

  get size() {
    return this.views.size;
  }

  /**
   * Register a view that is starting, and stop the older ones it replaced.
   * @param {LiveView} view
   */
  add(view) {
    this.views.add(view);
    for (const older of Array.from(this.views)) {
      if (older !== view && this.isReplaced(older)) older.stop();
    }
  }

  /** @param {LiveView} view */
  delete(view) {
    this.views.delete(view);
  }

  /**
   * A view is replaced when it is off the page and a newer view of the widget exists, and
   * either it had been on the page (it was taken off) or the newer view is on the page. A
   * view off the page with no newer one stays live: a notebook that virtualises its cells
   * detaches those scrolled out of sight, and attaches them again later.
   * @param {LiveView} view
   */
  isReplaced(view) {
    if (view.root.isConnected) {
      view.attachedOnce = true;
      return false;
    }
    const newer = this.newerThan(view);
    if (newer.length === 0) return false;
    return view.attachedOnce || newer.some((other) => other.root.isConnected);
  }

  /** @param {LiveView} view */
  newerThan(view) {
    const all = Array.from(this.views);
    const index = all.indexOf(view);
    return index < 0 ? [] : all.slice(index + 1);
  }
}

export class WidgetMemory {
  constructor() {
    this.draft = "";
    this.focused = false;
    /** @type {Map<string, Disclosure>} */
    this.disclosures = new Map();
    this.views = new LiveViews();
  }

  /**
   * The remembered state of one disclosure, created closed-by-default on first use.
   * @param {string} key
   * @returns {Disclosure}
   */
  disclosure(key) {
    let state = this.disclosures.get(key);
    if (!state) {
      state = { open: null, full: false };
      this.disclosures.set(key, state);
    }
    return state;
  }
}

/** @type {WeakMap<object, WidgetMemory>} */
const memories = new WeakMap();

/**
 * The memory of the widget whose synced options object is `key`.
 * @param {object} key
 */
export function memoryFor(key) {
  let memory = memories.get(key);
  if (!memory) {
    memory = new WidgetMemory();
    memories.set(key, memory);
  }
  return memory;
}

/**
 * The widget's options were replaced by a new object: keep its memory under the new key.
 * @param {object} key
 * @param {WidgetMemory} memory
 */
export function rememberUnder(key, memory) {
  memories.set(key, memory);
}
