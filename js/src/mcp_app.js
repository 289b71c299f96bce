// @ts-check
/**
 * An MCP App's view in a tool card (the `io.modelcontextprotocol/ui` extension): the host side.
 *
 * The kernel sends the view as the call's shown form (`application/vnd.agentnb.mcp-app+json`:
 * its HTML, the hosts its resource declares, the call's input and result; see
 * agentnb/_app/mcp/mcp_apps.py). It runs in `<iframe sandbox="allow-scripts">` (never
 * `allow-same-origin`: an opaque origin, no cookies, no storage, no parent DOM; no popups, no
 * top navigation, no forms) from `srcdoc`, with a Content-Security-Policy `<meta>` put before
 * anything of its own: no network at all unless its resource declares hosts, and then only
 * those (https/wss, kept by the kernel), never this page's own origin.
 *
 * The bridge is JSON-RPC 2.0 over `postMessage`, as the extension's spec says; it is written
 * here rather than taken from `@modelcontextprotocol/ext-apps`'s AppBridge, which bundles the
 * MCP SDK and zod: 650 kB minified, three times this whole widget. Only messages whose
 * `event.source` is this frame's window are heard. The host answers `ui/initialize` (theme,
 * container size), sends `ui/notifications/tool-input` and `ui/notifications/tool-result`
 * once the view says `ui/notifications/initialized`, resizes on
 * `ui/notifications/size-changed` (within bounds), tells it a theme switched
 * (`ui/notifications/host-context-changed`), and sends `ui/resource-teardown` when the card
 * goes. A `tools/call` goes to the kernel, which runs it through the approval gate as a
 * run of its own in this cell; one at a time, at most `MAX_VIEW_CALLS` a view; the others are
 * refused with a JSON-RPC error. A frame that navigates away from its view is closed.
 */
import { h, listen } from "./dom.js";

export const APP_MIME = "application/vnd.agentnb.mcp-app+json";
/** The extension's version this host speaks. */
export const PROTOCOL_VERSION = "2026-01-26";
/** The tallest a view may make itself, in pixels (and the least). */
export const MAX_VIEW_HEIGHT = 800;
export const MIN_VIEW_HEIGHT = 40;
/** The height a view has before it says its own. */
const FIRST_HEIGHT = 160;
/** `tools/call` one view may make (the kernel holds the same bound). */
export const MAX_VIEW_CALLS = 20;
/** Times a frame that navigated away is sent back to its view before it is closed. */
export const MAX_RESTARTS = 3;
/** JSON-RPC's codes. */
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const REFUSED = -32000;

/**
 * @typedef {{ view: string, uri: string, tool: string, html: string,
 *   csp: { connect: string[], resources: string[] }, border: boolean,
 *   input: Record<string, unknown>, result: Record<string, unknown> }} AppShown
 * @typedef {{ kind: "mcp_app_answer", view: string, id: number | string,
 *   result?: Record<string, unknown>, error?: string }} AppAnswer
 */

/**
 * The cell's channel to the kernel for its views' calls: one per chat cell (its model).
 */
export class AppChannel {
  /**
   * @param {{ send: (content: object) => void, on: (name: string, fn: (msg: any) => void) => void,
   *   off: (name: string, fn: (msg: any) => void) => void }} model
   */
  constructor(model) {
    this.model = model;
    /** @type {Map<string, Set<AppBridge>>} */
    this.bridges = new Map();
    this.onMessage = this.onMessage.bind(this);
    // the kernel's answers are listened for while a view is shown (a cell has none, mostly);
    // each view leaves with its card, the cell's too
    this.listening = false;
  }

  /** @param {boolean} on */
  listen(on) {
    if (on === this.listening) return;
    this.listening = on;
    if (on) this.model.on("msg:custom", this.onMessage);
    else this.model.off("msg:custom", this.onMessage);
  }

  /** @param {any} msg */
  onMessage(msg) {
    if (!msg || msg.kind !== "mcp_app_answer" || typeof msg.view !== "string") return;
    for (const bridge of this.bridges.get(msg.view) ?? []) bridge.answered(msg);
  }

  /** @param {AppBridge} bridge */
  add(bridge) {
    const set = this.bridges.get(bridge.shown.view) ?? new Set();
    set.add(bridge);
    this.bridges.set(bridge.shown.view, set);
    this.listen(true);
  }

  /** @param {AppBridge} bridge */
  remove(bridge) {
    const set = this.bridges.get(bridge.shown.view);
    set?.delete(bridge);
    if (set?.size === 0) this.bridges.delete(bridge.shown.view);
    if (this.bridges.size === 0) this.listen(false);
  }

  /** @param {object} content */
  send(content) {
    this.model.send(content);
  }
}

/**
 * The shown form as a view's data, or null when it is not one (the kernel made it: this
 * only keeps a broken one from breaking the card).
 * @param {string} data
 * @returns {AppShown | null}
 */
export function appShown(data) {
  try {
    const shown = JSON.parse(data);
    if (typeof shown?.view !== "string" || typeof shown.html !== "string") return null;
    return shown;
  } catch {
    return null;
  }
}

/**
 * Whether a declared host (`https://api.example.com`, `https://*.example.com`,
 * `wss://...:8443`) would reach `origin` (this page's): such a host is never allowed. Its name
 * alone decides, whatever its scheme and port (`:443` is https's own, and a host-source's
 * scheme reaches its secure upgrade).
 * @param {string} host @param {{ protocol: string, host: string, hostname: string }} page
 */
function reachesPage(host, page) {
  const match = /^[a-z]+:\/\/(\*\.)?([^/:]+?)\.?(:\d+)?$/.exec(host);
  if (!match) return true;
  const [, wildcard, name] = match;
  const pageName = page.hostname.toLowerCase().replace(/\.$/, "");
  return wildcard ? pageName.endsWith(`.${name}`) : pageName === name;
}

/**
 * The Content-Security-Policy of a view: its inline script and style, images from `data:`,
 * and only the hosts it declares (each as the kernel kept it, https or wss, minus any that
 * would reach this page).
 * @param {AppShown["csp"]} csp @param {{ protocol: string, host: string, hostname: string }} page
 */
export function viewPolicy(csp, page) {
  const keep = (/** @type {unknown} */ hosts) => (Array.isArray(hosts) ? hosts : [])
    .filter((host) => typeof host === "string" && /^(https|wss):\/\/[a-z0-9*.:-]+$/.test(host))
    .filter((host) => !reachesPage(host, page));
  const resources = keep(csp?.resources).join(" ");
  const connect = keep(csp?.connect).join(" ") || "'none'";
  const also = resources ? ` ${resources}` : "";
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline'${also}`,
    `style-src 'unsafe-inline'${also}`,
    `img-src data:${also}`,
    `font-src data:${also}`,
    `media-src data:${also}`,
    `connect-src ${connect}`,
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/**
 * The view's document with its policy first: after its doctype (so it keeps its mode), else
 * before everything it has.
 * @param {string} html @param {string} policy
 */
export function withPolicy(html, policy) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replace(/"/g, "&quot;")}">`;
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  return doctype ? `${doctype[0]}${meta}${html.slice(doctype[0].length)}` : `${meta}${html}`;
}

/** The page's theme, as JupyterLab and Notebook 7 mark it on `<body>`. */
function theme() {
  const light = document.body?.dataset?.jpThemeLight;
  if (light === "false") return "dark";
  if (light === "true") return "light";
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/**
 * One view in its frame, and the host's side of its bridge.
 */
export class AppBridge {
  /**
   * @param {AppShown} shown @param {AppChannel | null} channel @param {AbortSignal} signal
   */
  constructor(shown, channel, signal) {
    this.shown = shown;
    this.channel = channel;
    this.el = h("div", "anb-app");
    this.el.classList.toggle("anb-app-border", shown.border !== false);
    const label = h("div", "anb-app-label", `MCP App view · ${shown.uri}`);
    this.frame = h("iframe", "anb-app-frame");
    this.frame.setAttribute("sandbox", "allow-scripts");
    this.frame.setAttribute("referrerpolicy", "no-referrer");
    this.frame.setAttribute("allow", "");
    this.frame.title = `The view of ${shown.tool}`;
    this.frame.style.height = `${FIRST_HEIGHT}px`;
    this.frame.srcdoc = withPolicy(shown.html, viewPolicy(shown.csp, window.location));
    this.note = h("div", "anb-app-note");
    this.note.hidden = true;
    this.el.append(label, this.frame, this.note);
    /** The JSON-RPC ids of this view's calls the kernel has not answered. @type {Set<number | string>} */
    this.pending = new Set();
    this.calls = 0;
    this.initialized = false;
    this.closed = false;
    this.loads = 0;
    /** Whether the next load is the view's own document, loaded again here. */
    this.restarting = false;
    this.nextId = 1;
    listen(window, "message", (/** @type {MessageEvent} */ event) => this.onMessage(event), signal);
    listen(this.frame, "load", () => this.onLoad(), signal);
    channel?.add(this);
    // a theme switched (JupyterLab marks it on <body>) is told to the view
    this.theme = theme();
    this.themes = new MutationObserver(() => this.onTheme());
    this.themes.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
    const told = new AbortController();
    listen(signal, "abort", () => {
      this.teardown();
      told.abort();
    }, told.signal);
  }

  /**
   * The first load is the view's document. Another is the frame gone elsewhere (the view
   * navigated itself, or the browser loaded it again when the card moved): it is sent back
   * to the view, which starts again; past `MAX_RESTARTS`, the frame is closed.
   */
  onLoad() {
    this.loads += 1;
    if (this.loads === 1 || this.closed) return;
    this.initialized = false;
    this.pending.clear();
    if (this.restarting) {
      this.restarting = false;
      return;
    }
    if (this.loads > 2 * MAX_RESTARTS) {
      this.close("The view kept navigating away from itself and was closed.");
      return;
    }
    this.restarting = true;
    this.frame.srcdoc = this.frame.srcdoc;
  }

  onTheme() {
    const now = theme();
    if (now === this.theme) return;
    this.theme = now;
    if (this.initialized) this.notify("ui/notifications/host-context-changed", { theme: now });
  }

  /** @param {MessageEvent} event */
  onMessage(event) {
    if (this.closed || !this.frame.contentWindow || event.source !== this.frame.contentWindow) return;
    const msg = event.data;
    if (!msg || typeof msg !== "object" || msg.jsonrpc !== "2.0" || typeof msg.method !== "string") return;
    const request = "id" in msg && (typeof msg.id === "number" || typeof msg.id === "string");
    if (request) this.onRequest(msg.id, msg.method, msg.params);
    else this.onNotification(msg.method, msg.params);
  }

  /**
   * @param {number | string} id @param {string} method @param {any} params
   */
  onRequest(id, method, params) {
    if (method === "ui/initialize") {
      const asked = typeof params?.protocolVersion === "string" ? params.protocolVersion : "";
      this.reply(id, {
        protocolVersion: asked === PROTOCOL_VERSION ? asked : PROTOCOL_VERSION,
        hostInfo: { name: "agentnb", version: "1" },
        hostCapabilities: { serverTools: {} },
        hostContext: {
          theme: theme(),
          displayMode: "inline",
          availableDisplayModes: ["inline"],
          containerDimensions: { width: this.frame.clientWidth || 600, maxHeight: MAX_VIEW_HEIGHT },
          platform: "web",
          locale: navigator.language,
        },
      });
    } else if (method === "tools/call") {
      this.call(id, params);
    } else if (method === "ping") {
      this.reply(id, {});
    } else if (method === "ui/request-display-mode") {
      this.reply(id, { mode: "inline" });
    } else if (method === "ui/open-link") {
      this.fail(id, REFUSED, "agentnb does not open links for a view: show the link as text");
    } else {
      this.fail(id, METHOD_NOT_FOUND, `agentnb's chat cell does not offer ${method.slice(0, 100)}`);
    }
  }

  /** @param {string} method @param {any} params */
  onNotification(method, params) {
    if (method === "ui/notifications/initialized" && !this.initialized) {
      this.initialized = true;
      this.notify("ui/notifications/tool-input", { arguments: this.shown.input ?? {} });
      this.notify("ui/notifications/tool-result", this.shown.result ?? { content: [] });
    } else if (method === "ui/notifications/size-changed") {
      const height = Number(params?.height);
      if (Number.isFinite(height)) {
        const bounded = Math.min(MAX_VIEW_HEIGHT, Math.max(MIN_VIEW_HEIGHT, Math.ceil(height)));
        this.frame.style.height = `${bounded}px`;
      }
    }
  }

  /**
   * A view's `tools/call`: to the kernel, one at a time, within the view's bound.
   * @param {number | string} id @param {any} params
   */
  call(id, params) {
    const name = params?.name;
    const args = params?.arguments ?? {};
    if (typeof name !== "string" || typeof args !== "object" || Array.isArray(args) || args === null) {
      this.fail(id, INVALID_PARAMS, "tools/call takes a tool's name and its arguments as an object");
    } else if (!this.channel) {
      this.fail(id, REFUSED, "this view cannot call tools here (no kernel)");
    } else if (this.pending.size > 0) {
      this.fail(id, REFUSED, "a call of this view waits already: a view makes one call at a time");
    } else if (this.calls >= MAX_VIEW_CALLS) {
      this.fail(id, REFUSED, `this view made ${MAX_VIEW_CALLS} calls, the most one view may make`);
    } else {
      this.calls += 1;
      this.pending.add(id);
      this.channel.send({ kind: "mcp_app_call", view: this.shown.view, id, name, arguments: args });
    }
  }

  /** The kernel's answer to one of this view's calls. @param {AppAnswer} answer */
  answered(answer) {
    if (!this.pending.delete(answer.id)) return;
    if (answer.result && typeof answer.result === "object") this.reply(answer.id, answer.result);
    else this.fail(answer.id, REFUSED, String(answer.error || "the call was refused"));
  }

  /** @param {object} message */
  post(message) {
    if (this.closed) return;
    // the frame's origin is opaque: "*" is the only target it matches; only it gets this
    this.frame.contentWindow?.postMessage({ jsonrpc: "2.0", ...message }, "*");
  }

  /** @param {number | string} id @param {object} result */
  reply(id, result) {
    this.post({ id, result });
  }

  /** @param {number | string} id @param {number} code @param {string} message */
  fail(id, code, message) {
    this.post({ id, error: { code, message } });
  }

  /** @param {string} method @param {object} params */
  notify(method, params) {
    this.post({ method, params });
  }

  /** The card goes: the view is told, then its frame goes with the card. */
  teardown() {
    this.themes.disconnect();
    if (!this.closed) this.post({ id: `teardown-${this.nextId++}`, method: "ui/resource-teardown", params: {} });
    this.closed = true;
    this.channel?.remove(this);
  }

  /** @param {string} why */
  close(why) {
    this.themes.disconnect();
    this.closed = true;
    this.channel?.remove(this);
    this.frame.remove();
    this.note.hidden = false;
    this.note.textContent = why;
  }
}
