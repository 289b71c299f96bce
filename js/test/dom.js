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
g.MutationObserver = dom.window.MutationObserver;
// The views pass AbortSignals to addEventListener: jsdom accepts only its own.
g.AbortController = dom.window.AbortController;
g.AbortSignal = dom.window.AbortSignal;
g.FileReader = dom.window.FileReader;
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
  /** What the views told of themselves (`{kind: "seen"}`, `{kind: "gone"}`), apart from `sent`. */
  /** @type {any[]} */
  const seenReports = [];
  const state = { transcript: { seq: 0, turns: [] }, options: {}, ...traits };
  return {
    sent,
    seenReports,
    /** @param {string} name */
    get(name) {
      return /** @type {any} */ (state)[name];
    },
    /** @param {any} content */
    send(content) {
      (content?.kind === "seen" || content?.kind === "gone" ? seenReports : sent).push(content);
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
    /**
     * What anywidget hands each view: its own object, forwarding to the same model.
     * @returns {{ get(name: string): any, send(content: any): void,
     *   on(event: string, cb: (...args: any[]) => void): void,
     *   off(event: string, cb: (...args: any[]) => void): void }}
     */
    proxy() {
      return {
        get: (name) => this.get(name),
        send: (content) => this.send(content),
        on: (event, cb) => this.on(event, cb),
        off: (event, cb) => this.off(event, cb),
      };
    },
  };
}

/**
 * Count the event listeners added from now on to elements and abort signals that are still
 * registered (not removed, their signal not aborted); jsdom's own listeners on documents are
 * left out. `stop()` puts addEventListener back.
 */
export function trackListeners() {
  const proto = dom.window.EventTarget.prototype;
  const add = proto.addEventListener;
  const remove = proto.removeEventListener;
  /** @type {Set<{ target: EventTarget, type: string, listener: unknown }>} */
  const live = new Set();
  /** @this {EventTarget} @param {string} type @param {any} listener @param {any} [options] */
  proto.addEventListener = function (type, listener, options) {
    add.call(this, type, listener, options);
    if (!(this instanceof dom.window.Element || this instanceof dom.window.AbortSignal)) return;
    const signal = typeof options === "object" && options !== null ? options.signal : undefined;
    if (signal?.aborted) return;
    const entry = { target: this, type, listener };
    live.add(entry);
    if (signal) add.call(signal, "abort", () => live.delete(entry), { once: true });
  };
  /** @this {EventTarget} @param {string} type @param {any} listener @param {any} [options] */
  proto.removeEventListener = function (type, listener, options) {
    remove.call(this, type, listener, options);
    for (const entry of live) {
      if (entry.target === this && entry.type === type && entry.listener === listener) live.delete(entry);
    }
  };
  return {
    /** Live listeners, optionally only those whose target `filter` accepts. */
    count(/** @type {(target: EventTarget) => boolean} */ filter = () => true) {
      return Array.from(live).filter((entry) => filter(entry.target)).length;
    },
    targets() {
      return Array.from(live, (entry) => entry.target);
    },
    stop() {
      proto.addEventListener = add;
      proto.removeEventListener = remove;
    },
  };
}
