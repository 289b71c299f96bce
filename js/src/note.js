// @ts-check
/**
 * A note box that shows all of its text: a one-row textarea that wraps and grows with what a
 * person types. The box and a hidden copy of its text (note.css: the wrapper's `::after`,
 * from its `data-note`) share one grid cell, so the copy's height is the box's; the browser
 * sizes it, with no measuring in script. The run table's and the chat cell's verdict notes.
 */
import { h, listen } from "./dom.js";

const FIT = "anb-note-fit";

/**
 * A note box in its wrapper (put the wrapper in the page). `fitNotes` on an ancestor keeps
 * the wrapper's copy in step with typing; `setNote` writes a note from script.
 * @param {string} className the box's own class
 * @param {string} placeholder
 * @param {string} value
 */
export function noteBox(className, placeholder, value) {
  const note = h("textarea", className);
  note.rows = 1;
  note.placeholder = placeholder;
  note.setAttribute("aria-label", "A note with your verdict");
  const fit = h("span", `${FIT} ${className}-fit`);
  fit.append(note);
  setNote(note, value);
  return { fit, note };
}

/** The note's text, and its box sized for it. @param {HTMLTextAreaElement} note @param {string} value */
export function setNote(note, value) {
  note.value = value;
  fitted(note);
}

/**
 * Every note box under `root`, present or drawn later, grows with what is typed in it.
 * @param {HTMLElement} root
 * @param {AbortSignal} signal
 */
export function fitNotes(root, signal) {
  listen(root, "input", (/** @type {Event} */ event) => {
    fitted(/** @type {HTMLTextAreaElement} */ (event.target));  // a note box's if in a wrapper
  }, signal);
}

/** @param {HTMLTextAreaElement} note */
function fitted(note) {
  const fit = note.parentElement;
  if (fit?.classList.contains(FIT)) fit.dataset.note = note.value;
}
