// @ts-check
// A jsdom window installed as the global DOM, before the widget modules are imported.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", {
  pretendToBeVisual: true,
  url: "http://127.0.0.1/lab",
});
const g = /** @type {any} */ (globalThis);
g.window = dom.window;
g.document = dom.window.document;
g.Node = dom.window.Node;
g.HTMLElement = dom.window.HTMLElement;
g.DocumentFragment = dom.window.DocumentFragment;
if (!("navigator" in globalThis)) g.navigator = dom.window.navigator;
g.requestAnimationFrame = dom.window.requestAnimationFrame.bind(dom.window);
g.cancelAnimationFrame = dom.window.cancelAnimationFrame.bind(dom.window);

export { dom };

/**
 * A stand-in for anywidget's model: traits, custom messages both ways.
 * @param {Record<string, any>} traits
 */
export function fakeModel(traits = {}) {
  /** @type {Map<string, Set<(...args: any[]) => void>>} */
  const handlers = new Map();
  /** @type {any[]} */
  const sent = [];
  const state = { transcript: { seq: 0, turns: [] }, options: {}, ...traits };
  return {
    sent,
    /** @param {string} name */
    get(name) {
      return /** @type {any} */ (state)[name];
    },
    /** @param {any} content */
    send(content) {
      sent.push(content);
    },
    /** @param {string} event @param {(...args: any[]) => void} cb */
    on(event, cb) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event)?.add(cb);
    },
    /** @param {string} event @param {(...args: any[]) => void} cb */
    off(event, cb) {
      handlers.get(event)?.delete(cb);
    },
    /** Kernel → view custom message. @param {any} msg */
    deliver(msg) {
      for (const cb of handlers.get("msg:custom") || []) cb(msg, []);
    },
    /** Kernel sets a synced trait. @param {string} name @param {any} value */
    set(name, value) {
      /** @type {any} */ (state)[name] = value;
      for (const cb of handlers.get(`change:${name}`) || []) cb();
    },
    /** @param {string} event */
    listeners(event) {
      return handlers.get(event)?.size || 0;
    },
  };
}
