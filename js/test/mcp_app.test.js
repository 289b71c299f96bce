// @ts-check
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AppBridge, AppChannel, MAX_VIEW_CALLS, MAX_VIEW_HEIGHT, MIN_VIEW_HEIGHT, viewPolicy, withPolicy,
} from "../src/mcp_app.js";

const PAGE = { protocol: "https:", host: "hub.example.com", hostname: "hub.example.com" };
const NONE = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
  + "img-src data:; font-src data:; media-src data:; connect-src 'none'; frame-src 'none'; "
  + "form-action 'none'; base-uri 'none'";

/** @returns {import("../src/mcp_app.js").AppShown} */
function shown(csp = { connect: [], resources: [] }) {
  return {
    view: "v1", uri: "ui://apps/clock.html", tool: "apps__show_time",
    html: "<!DOCTYPE html><p>clock</p>", csp, border: true,
    input: { city: "Paris" }, result: { content: [{ type: "text", text: "12:00" }] },
  };
}

/** A bridge in the page, what it posts to its frame, and what its cell sends the kernel. */
function bridged() {
  const model = fakeModel();
  const lifetime = new AbortController();
  const channel = new AppChannel(model);
  const bridge = new AppBridge(shown(), channel, lifetime.signal);
  document.body.append(bridge.el);
  const frame = /** @type {Window} */ (bridge.frame.contentWindow);
  /** @type {any[]} */
  const posted = [];
  frame.postMessage = /** @type {any} */ ((/** @type {any} */ message) => posted.push(message));
  /** @param {any} data @param {any} [source] */
  const from = (data, source = frame) => {
    window.dispatchEvent(new window.MessageEvent("message", { data, source }));
  };
  return { model, lifetime, bridge, posted, from, frame };
}

/** @param {number | string} id @param {string} [name] */
function toolsCall(id, name = "refresh_time") {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: { city: "Paris" } } };
}

test("a view without declared hosts may reach no network at all", () => {
  assert.equal(viewPolicy({ connect: [], resources: [] }, PAGE), NONE);
});

test("declared hosts are allowed, never one that reaches the page's own origin", () => {
  const policy = viewPolicy({
    connect: ["https://api.other.com", "https://hub.example.com", "wss://live.other.com:8443",
      "https://hub.example.com:443", "wss://hub.example.com", "wss://hub.example.com.:443"],
    resources: ["https://*.example.com", "https://cdn.other.com", "*", "http://cdn.other.com"],
  }, PAGE);
  assert.match(policy, /script-src 'unsafe-inline' https:\/\/cdn\.other\.com;/);
  assert.match(policy, /connect-src https:\/\/api\.other\.com wss:\/\/live\.other\.com:8443;/);
  assert.doesNotMatch(policy, /example\.com|\*|http:/);
});

test("the policy comes before anything of the view's, after its doctype", () => {
  assert.equal(withPolicy("<!DOCTYPE html><p>x</p>", "a 'b'"),
    "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"a 'b'\"><p>x</p>");
  assert.equal(withPolicy("<script>x()</script>", 'a"b'),
    '<meta http-equiv="Content-Security-Policy" content="a&quot;b"><script>x()</script>');
});

test("the frame may run scripts and nothing else, with the policy in its document", () => {
  const { bridge, lifetime } = bridged();
  assert.equal(bridge.frame.getAttribute("sandbox"), "allow-scripts");
  assert.ok(bridge.frame.srcdoc.startsWith(`<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src 'none';`));
  lifetime.abort();
});

test("initialize is answered, then the tool's input and result go to the view", () => {
  const { from, posted, lifetime } = bridged();
  from({ jsonrpc: "2.0", id: 1, method: "ui/initialize", params: { protocolVersion: "2026-01-26" } });
  assert.equal(posted[0].id, 1);
  assert.equal(posted[0].result.protocolVersion, "2026-01-26");
  assert.deepEqual(posted[0].result.hostCapabilities, { serverTools: {} });
  assert.equal(posted[0].result.hostContext.theme, "light");
  from({ jsonrpc: "2.0", method: "ui/notifications/initialized" });
  assert.deepEqual(posted.slice(1).map((m) => [m.method, m.params]), [
    ["ui/notifications/tool-input", { arguments: { city: "Paris" } }],
    ["ui/notifications/tool-result", { content: [{ type: "text", text: "12:00" }] }],
  ]);
  lifetime.abort();
});

test("only the frame's own window is heard", () => {
  const { from, posted, model, lifetime } = bridged();
  from(toolsCall(1), window);
  from(toolsCall(2), null);
  from({ jsonrpc: "2.0", id: 3, method: "ui/initialize", params: {} }, window);
  assert.deepEqual(posted, []);
  assert.deepEqual(model.sent, []);
  lifetime.abort();
});

test("a view's calls go to the kernel one at a time, within the view's bound", () => {
  const { from, posted, model, lifetime } = bridged();
  from(toolsCall(1));
  from(toolsCall(2));
  assert.deepEqual(model.sent, [
    { kind: "mcp_app_call", view: "v1", id: 1, name: "refresh_time", arguments: { city: "Paris" } },
  ]);
  assert.equal(posted[0].id, 2);
  assert.equal(posted[0].error.message,
    "a call of this view waits already: a view makes one call at a time");
  model.deliver({ kind: "mcp_app_answer", view: "v1", id: 9, result: { content: [] } });  // not asked
  model.deliver({ kind: "mcp_app_answer", view: "v1", id: 1, result: { content: [] } });
  assert.deepEqual(posted.slice(1), [{ jsonrpc: "2.0", id: 1, result: { content: [] } }]);
  for (let id = 2; id <= MAX_VIEW_CALLS; id += 1) {
    from(toolsCall(id));
    model.deliver({ kind: "mcp_app_answer", view: "v1", id, error: "denied" });
  }
  assert.equal(model.sent.length, MAX_VIEW_CALLS);
  from(toolsCall("over"));
  assert.equal(model.sent.length, MAX_VIEW_CALLS);
  assert.equal(posted.at(-1).error.message, `this view made ${MAX_VIEW_CALLS} calls, the most one view may make`);
  lifetime.abort();
});

test("a view sizes itself within bounds, and is told when its card goes", () => {
  const { from, posted, bridge, lifetime, model } = bridged();
  assert.equal(model.listeners("msg:custom"), 1, "the kernel's answers are heard");
  from({ jsonrpc: "2.0", method: "ui/notifications/size-changed", params: { height: 240.2 } });
  assert.equal(bridge.frame.style.height, "241px");
  from({ jsonrpc: "2.0", method: "ui/notifications/size-changed", params: { height: 1e9 } });
  assert.equal(bridge.frame.style.height, `${MAX_VIEW_HEIGHT}px`);
  from({ jsonrpc: "2.0", method: "ui/notifications/size-changed", params: { height: -5 } });
  assert.equal(bridge.frame.style.height, `${MIN_VIEW_HEIGHT}px`);
  lifetime.abort();
  assert.equal(posted.at(-1).method, "ui/resource-teardown");
  from(toolsCall(1));
  assert.equal(posted.at(-1).method, "ui/resource-teardown", "a view torn down is heard no more");
  assert.equal(model.listeners("msg:custom"), 0, "nor is the kernel, for it");
});

test("what the host does not offer is refused, links are never opened", () => {
  const { from, posted, lifetime } = bridged();
  from({ jsonrpc: "2.0", id: 1, method: "ui/open-link", params: { url: "https://x.example" } });
  from({ jsonrpc: "2.0", id: 2, method: "ui/message", params: {} });
  assert.deepEqual(posted.map((m) => m.error.code), [-32000, -32601]);
  lifetime.abort();
});

test("a theme switched is told to the view once it is initialized", async () => {
  const { from, posted, lifetime } = bridged();
  from({ jsonrpc: "2.0", method: "ui/notifications/initialized" });
  const before = posted.length;
  document.body.dataset.jpThemeLight = "false";
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(posted.slice(before), [
    { jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: { theme: "dark" } },
  ]);
  delete document.body.dataset.jpThemeLight;
  lifetime.abort();
});
