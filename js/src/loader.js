// @ts-check
/**
 * A chat cell's own front-end module (its `_esm`): about a kilobyte, so that every cell does
 * not carry the widget's code. The code comes once per kernel in the `bundle` trait of a
 * hidden runtime widget (gzip, then base64: 40% of the JSON-escaped text, in the comm message
 * and in a saved notebook's widget state), whose model id is the cell's `runtime` trait. This module
 * finds that model through the widget manager, imports the bundle once per page (the import
 * is kept on the runtime model) and renders with it. The runtime's stylesheet is loaded by
 * anywidget when its model is created. Where any of it fails, the cell says so in its
 * element, and the static copy displayed after it stays visible.
 *
 * Built on its own (build.mjs): it must import nothing.
 */

/**
 * @typedef {{ get(name: string): any }} RuntimeModel
 * @typedef {{
 *   get(name: string): any,
 *   widget_manager: { get_model(id: string): Promise<RuntimeModel> },
 * }} CellModel
 * @typedef {{ render(context: { model: CellModel, el: HTMLElement }): unknown }} Widget
 */

/** Where a runtime model keeps its imported bundle (shared by every cell's copy of this). */
const IMPORTED = Symbol.for("agentnb.runtime.bundle");
/** Waits for a runtime model that is not registered yet (a page restoring its widgets). */
const RETRY_MS = [50, 100, 200, 400, 800, 1600, 3200];

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {CellModel} model @returns {Promise<RuntimeModel>} */
async function runtimeOf(model) {
  const id = model.get("runtime");
  if (!id) throw new Error("this chat cell names no agentnb runtime");
  for (let attempt = 0; ; attempt++) {
    try {
      return await model.widget_manager.get_model(id);
    } catch (err) {
      if (attempt >= RETRY_MS.length) throw err;
      await sleep(RETRY_MS[attempt]);
    }
  }
}

/**
 * The bundle's source as a JavaScript blob: base64 → gzip → text.
 * @param {string} encoded
 * @returns {Promise<Blob>}
 */
export async function bundleBlob(encoded) {
  const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  const source = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(source, { headers: { "Content-Type": "text/javascript" } }).blob();
}

/** @param {RuntimeModel} runtime */
async function importBundle(runtime) {
  const url = URL.createObjectURL(await bundleBlob(runtime.get("bundle")));
  try {
    return await import(/* webpackIgnore: true */ /* @vite-ignore */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** @param {RuntimeModel} runtime @returns {Promise<Widget>} */
async function widgetOf(runtime) {
  const holder = /** @type {{ [IMPORTED]?: Promise<{ default: Widget }> }} */ (runtime);
  let imported = holder[IMPORTED];
  if (!imported) {
    imported = importBundle(runtime);
    holder[IMPORTED] = imported;
    imported.catch(() => delete holder[IMPORTED]);
  }
  return (await imported).default;
}

/** @param {CellModel} model */
function load(model) {
  return runtimeOf(model).then(widgetOf);
}

export default {
  /**
   * When the cell's model is created, before any view: start the import (not awaited, so
   * the model's messages are not held back; `render` reports a failure).
   * @param {{ model: CellModel }} context
   */
  initialize({ model }) {
    load(model).catch(() => undefined);
  },

  /** @param {{ model: CellModel, el: HTMLElement }} context */
  async render({ model, el }) {
    let widget;
    try {
      widget = await load(model);
    } catch (err) {
      console.error("agentnb: could not load the chat cell's code", err);
      el.textContent = "agentnb: the chat cell's code is not available (run the cell again).";
      return undefined;
    }
    return widget.render({ model, el });
  },
};
