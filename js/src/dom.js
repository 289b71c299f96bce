// @ts-check
/**
 * Small DOM helpers shared by the chat cell's views. Agent-provided strings only ever go in
 * as text. Every listener is added with an AbortSignal, so a view removes all of its
 * listeners at once by aborting its controller.
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Put `text` in `el` only where it differs: writing the same text makes a new text node,
 * which the page lays out again (a redraw of many live cells would re-lay out every head).
 * @param {HTMLElement} el @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * `target.addEventListener`, removed when `signal` aborts.
 * @template {Event} E
 * @param {EventTarget} target
 * @param {string} type
 * @param {(event: E) => void} handler
 * @param {AbortSignal} signal
 */
export function listen(target, type, handler, signal) {
  target.addEventListener(type, /** @type {EventListener} */ (handler), { signal });
}

/** Elements whose keys are text or choices: every key typed in them belongs to them. */
const TYPED = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";
/** Elements a key activates: Enter and Space belong to them. */
const PRESSED = "button, summary, a[href]";

/**
 * Keep the keys typed in `root`'s inputs from the page around it. A notebook listens for
 * keys on its document (Shift+Enter runs the cell, whose re-run wipes the conversation;
 * command-mode letters insert, delete or retype cells; Esc leaves the cell), so one guard on
 * the root covers every input the cell makes, present or future:
 *   - `data-lm-suppress-shortcuts`: Lumino (JupyterLab, Notebook 7) matches no shortcut for a
 *     key whose target is inside such an element. Notebook 7 reads keys in the capture phase,
 *     before any listener of the cell could stop them, so this is the only way there.
 *   - a keydown listener on the root stops, in the bubble phase, every key typed in an input
 *     and Enter or Space pressed on a button, for pages that listen on the document without
 *     Lumino. The element's own handlers have run by then (Enter sends, Shift+Enter makes
 *     a new line).
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export function keepKeys(root, signal) {
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  listen(root, "keydown", (/** @type {KeyboardEvent} */ event) => {
    const target = /** @type {Element | null} */ (event.target);
    if (typeof target?.closest !== "function") return;
    const typed = target.closest(TYPED) !== null;
    const pressed = (event.key === "Enter" || event.key === " ") && target.closest(PRESSED);
    if (typed || pressed) event.stopPropagation();
  }, signal);
}

/**
 * The key that sends what an input of the cell holds: Enter, or Ctrl/Cmd+Enter. Shift+Enter
 * (a new line in the question box, a notebook's "run" elsewhere) and Alt+Enter never send:
 * a hand used to running cells must not send a half-typed question or a decision.
 * @param {KeyboardEvent} event
 */
export function isSendKey(event) {
  return event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing;
}

/**
 * A button with no click handler of its own (its container handles the click).
 * @param {string} label
 * @param {string} className
 * @param {string} [title]
 */
export function plainButton(label, className, title) {
  const el = h("button", `anb-button ${className}`, label);
  el.type = "button";
  if (title) {
    el.title = title;
    el.setAttribute("aria-label", title);
  }
  return el;
}

/**
 * A button whose clicks stay inside the widget (the notebook does not see them).
 * @param {string} label
 * @param {string} className
 * @param {() => void} onClick
 * @param {{ signal: AbortSignal, title?: string }} options
 */
export function button(label, className, onClick, { signal, title }) {
  const el = plainButton(label, className, title);
  listen(el, "click", (event) => {
    event.stopPropagation();
    onClick();
  }, signal);
  return el;
}

export function spinner() {
  const el = h("span", "anb-spinner");
  el.setAttribute("aria-hidden", "true");
  return el;
}

/**
 * Show `label` on a button for a moment (e.g. "Copied"), then its own label again.
 * @param {HTMLButtonElement | undefined} el
 * @param {string} label
 */
export function flash(el, label) {
  if (!el) return;
  const before = el.dataset.label ?? el.textContent ?? "";
  el.dataset.label = before;
  el.textContent = label;
  setTimeout(() => {
    el.textContent = before;
    delete el.dataset.label;
  }, 1200);
}

/** @param {string} text */
export async function copyToClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", "anb-offscreen");
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/**
 * A controller aborted with `parent` or on its own (a part of a view that can go before the
 * view does). Aborting it also drops its hook on the parent, so short-lived children do not
 * pile up on a long-lived parent.
 * @param {AbortSignal} parent
 */
export function childController(parent) {
  const child = new AbortController();
  if (parent.aborted) {
    child.abort();
    return child;
  }
  listen(parent, "abort", () => child.abort(), child.signal);
  return child;
}
