// @ts-check
/**
 * A question a running call asks the person (an MCP server's elicitation), on the call's card:
 * the server and its message, then either a form (its fields typed by their schema: text,
 * number, integer, yes/no, one choice or several; required ones marked; defaults filled;
 * bounds checked by the browser before anything is sent; "N more fields not shown" when the
 * kernel showed only the first ones) with Submit, Decline and Cancel; or a link, its host
 * said plainly, with Open link (the person opens it: nothing here opens it by itself),
 * Decline and Cancel. The reply goes to the kernel (`reply`), which passes it to the run's
 * gate; a click disables the controls at once, and the box goes when the kernel reports the
 * question answered. Everything the server sent is put in the page as text, never as markup
 * (the kernel made every character that would not show as itself visible already).
 */
import { button, h, listen } from "./dom.js";

/**
 * @typedef {{ key: string, label: string, description?: string, kind: string,
 *   required?: boolean, default?: unknown, min?: number, max?: number, min_length?: number,
 *   max_length?: number, format?: string, choices?: [string, string][] }} QuestionField
 *   one field of a form: kind string | number | integer | boolean | choice | choices
 * @typedef {{ server?: string, message?: string, mode: string, fields?: QuestionField[],
 *   hidden?: number, url?: string, host?: string }} QuestionState  mode form | url
 * @typedef {(callId: string, action: "accept" | "decline" | "cancel",
 *   content: Record<string, unknown> | null) => void} Reply
 */

/** The input type a string field's format asks for (others are plain text). */
const FORMATS = /** @type {Record<string, string>} */ ({ email: "email", uri: "url", date: "date" });

export class QuestionBox {
  /** @param {{ signal: AbortSignal, reply: Reply }} context */
  constructor({ signal, reply }) {
    this.signal = signal;
    this.reply = reply;
    this.callId = "";
    /** The question as last drawn (JSON): the same one is not drawn again over typed values. */
    this.drawn = "";
    this.el = h("div", "anb-question");
    this.el.setAttribute("role", "group");
    this.el.setAttribute("aria-label", "A question from the tool");
    this.el.hidden = true;
    /** This draw's listeners, removed with it. @type {AbortController | null} */
    this.lifetime = null;
  }

  /** @param {import("./state.js").ToolState} call */
  update(call) {
    const asks = /** @type {QuestionState | null | undefined} */ (call.asks);
    this.callId = call.call_id;
    if (!asks) {
      this.el.hidden = true;
      this.drawn = "";
      this.lifetime?.abort();
      this.el.replaceChildren();
      return;
    }
    const json = JSON.stringify(asks);
    if (json === this.drawn) return;
    this.drawn = json;
    this.lifetime?.abort();
    this.lifetime = new AbortController();
    const lifetime = this.lifetime;
    this.signal.addEventListener("abort", () => lifetime.abort(), { signal: lifetime.signal });
    const signal = lifetime.signal;
    this.el.hidden = false;
    this.el.dataset.mode = asks.mode;
    const head = h("div", "anb-question-head", `${asks.server || "The tool"} asks:`);
    const message = h("div", "anb-question-message", asks.message || "");
    const body = asks.mode === "url" ? this.link(asks, signal) : this.form(asks, signal);
    this.el.replaceChildren(head, message, body);
  }

  /**
   * @param {QuestionState} asks @param {AbortSignal} signal
   * @returns {HTMLElement}
   */
  form(asks, signal) {
    const form = h("form", "anb-question-form");
    // the fields scroll in a box of their own: the buttons stay in sight under a long form
    const rows = h("div", "anb-question-fields");
    form.append(rows);
    const inputs = (asks.fields || []).map((field) => {
      const row = h("label", "anb-question-field");
      const name = h("span", "anb-question-label", field.label + (field.required ? " *" : ""));
      const control = fieldInput(field);
      row.append(name, control.el);
      if (field.description) row.append(h("span", "anb-question-description", field.description));
      rows.append(row);
      return { field, read: control.read };
    });
    if (asks.hidden) {
      const more = asks.hidden === 1 ? "1 more field" : `${asks.hidden} more fields`;
      form.append(h("div", "anb-question-hidden", `${more} not shown (optional: left empty)`));
    }
    const actions = h("div", "anb-question-actions");
    const submit = h("button", "anb-question-submit", "Submit");
    submit.type = "submit";
    const decline = button("Decline", "anb-question-decline", () => this.send("decline", null),
      { signal });
    const cancel = button("Cancel", "anb-question-cancel", () => this.send("cancel", null),
      { signal });
    actions.append(submit, decline, cancel);
    form.append(actions);
    listen(form, "submit", (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      /** @type {Record<string, unknown>} */
      const content = {};
      for (const { field, read } of inputs) {
        const value = read();
        if (value !== undefined) content[field.key] = value;
      }
      this.send("accept", content);
    }, signal);
    return form;
  }

  /**
   * @param {QuestionState} asks @param {AbortSignal} signal
   * @returns {HTMLElement}
   */
  link(asks, signal) {
    const box = h("div", "anb-question-link");
    const url = asks.url || "";
    // The host said is the one this browser's own URL parser reads, the parser that opens it;
    // where the kernel read another, the link is not opened.
    const host = webHost(url);
    const web = host !== null && host === asks.host;
    box.append(h("div", "anb-question-host",
      web ? `Opens a page on ${host}` : "A link whose host cannot be told for sure: not opened"));
    box.append(h("div", "anb-question-url", url));
    const actions = h("div", "anb-question-actions");
    const open = button("Open link", "anb-question-open", () => {
      if (web) window.open(url, "_blank", "noopener,noreferrer");
      this.send("accept", null);
    }, { signal, title: `Open ${url} in a new tab` });
    open.disabled = !web;
    actions.append(
      open,
      button("Decline", "anb-question-decline", () => this.send("decline", null), { signal }),
      button("Cancel", "anb-question-cancel", () => this.send("cancel", null), { signal }),
    );
    box.append(actions);
    return box;
  }

  /**
   * @param {"accept" | "decline" | "cancel"} action
   * @param {Record<string, unknown> | null} content
   */
  send(action, content) {
    for (const control of this.el.querySelectorAll("button, input, select")) {
      /** @type {HTMLButtonElement} */ (control).disabled = true;
    }
    this.el.dataset.state = "sending";
    this.reply(this.callId, action, content);
  }
}

/**
 * One field's control and how its value is read (undefined: left out of the answer).
 * @param {QuestionField} field
 * @returns {{ el: HTMLElement, read: () => unknown }}
 */
function fieldInput(field) {
  if (field.kind === "boolean") {
    const box = h("input", "anb-question-input");
    box.type = "checkbox";
    box.checked = field.default === true;
    return { el: box, read: () => box.checked };
  }
  if (field.kind === "choice") {
    const select = h("select", "anb-question-input");
    select.required = Boolean(field.required);
    if (!field.required || field.default === undefined) select.append(option("", "—"));
    for (const [value, label] of field.choices || []) select.append(option(value, label));
    if (typeof field.default === "string") select.value = field.default;
    return { el: select, read: () => (select.value === "" ? undefined : select.value) };
  }
  if (field.kind === "choices") {
    const group = h("span", "anb-question-choices");
    const defaults = Array.isArray(field.default) ? field.default : [];
    const boxes = (field.choices || []).map(([value, label]) => {
      const box = h("input");
      box.type = "checkbox";
      box.value = value;
      box.checked = defaults.includes(value);
      const item = h("label", "anb-question-choice");
      item.append(box, document.createTextNode(` ${label}`));
      group.append(item);
      return box;
    });
    return { el: group, read: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  }
  const input = h("input", "anb-question-input");
  input.required = Boolean(field.required);
  if (field.kind === "number" || field.kind === "integer") {
    input.type = "number";
    input.step = field.kind === "integer" ? "1" : "any";
    if (field.min !== undefined) input.min = String(field.min);
    if (field.max !== undefined) input.max = String(field.max);
    if (typeof field.default === "number") input.value = String(field.default);
    return {
      el: input,
      read: () => (input.value === "" ? undefined : Number(input.value)),
    };
  }
  input.type = FORMATS[field.format || ""] || "text";
  if (field.min_length !== undefined) input.minLength = field.min_length;
  if (field.max_length !== undefined) input.maxLength = field.max_length;
  if (typeof field.default === "string") input.value = field.default;
  return { el: input, read: () => (input.value === "" && !field.required ? undefined : input.value) };
}

/** @param {string} value @param {string} label */
function option(value, label) {
  const item = h("option", "", label);
  item.value = value;
  return item;
}

/**
 * The host the browser's URL parser reads in `url`, or null for a link that is not http(s).
 * @param {string} url @returns {string | null}
 */
function webHost(url) {
  try {
    const parsed = new URL(url);
    return /^https?:$/.test(parsed.protocol) ? parsed.hostname : null;
  } catch {
    return null;
  }
}
