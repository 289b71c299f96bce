// @ts-check
/**
 * What the user types or picks to start the next run: the chat input box (ChatCell(input=True)) and
 * the follow-up chips under an answer.
 */
import { button, childController, h, isSendKey, listen } from "./dom.js";

/**
 * `memory` is the widget's, shared with the views this one replaces or is replaced by;
 * `onSubmit` sends the text and says whether it went (not while a run is going).
 * @typedef {{
 *   signal: AbortSignal,
 *   memory: { draft: string, focused: boolean },
 *   placeholder?: string,
 *   onSubmit: (text: string, editing: number | null, detach: string[]) => boolean,
 *   onNew?: (() => void) | null,
 *   schedule: (cb: () => void) => () => void,
 *   attachments?: import("./attachments.js").AttachmentChips | null,
 *   assist?: ((input: HTMLTextAreaElement) => InputAssist) | null,
 *   beside?: HTMLElement | null,
 * }} InputContext
 *   `onSubmit(text, editing, detach)`: `editing` is the turn whose question the text replaces
 *   (Edit), or null; `detach`: the mentions removed from its attachments; `onNew`: start a
 *   new conversation (the "New conversation" button), if the cell can; `attachments`: the
 *   chips of what the message would attach, when the cell shows them; `assist`: what offers
 *   to complete the text as it is typed (the `/` commands), made for the box; `beside`: put
 *   in the row beside the box (the agent's settings)
 * @typedef {{ el: HTMLElement, typed: (text: string) => void,
 *   key: (event: KeyboardEvent) => boolean }} InputAssist  `key`: true when it took the key
 */

const KEYS_HINT = "(Enter to send, Shift+Enter for a new line)";

export class ChatInput {
  /** @param {InputContext} context */
  constructor({
    signal, memory, placeholder, onSubmit, onNew, schedule, attachments = null, assist = null,
    beside = null,
  }) {
    this.lifetime = childController(signal);
    /** The turn whose question is being edited here, if any. @type {number | null} */
    this.editing = null;
    /** @type {HTMLButtonElement | null} */
    this.newButton = null;
    this.memory = memory;
    this.onSubmit = onSubmit;
    this.schedule = schedule;
    /** @type {(() => void) | null} */
    this.cancelFocus = null;

    this.el = h("form", "anb-input");
    this.input = h("textarea", "anb-input-text");
    this.input.rows = 2;
    this.input.placeholder = `${placeholder || "Ask a question"} ${KEYS_HINT}`;
    this.input.setAttribute("aria-label", "Message");
    this.input.value = memory.draft;
    this.sendButton = h("button", "anb-button anb-send", "Send");
    this.sendButton.type = "submit";
    this.editNote = h("div", "anb-edit-note");
    this.editNote.hidden = true;
    this.editNote.append(h("span", "", "Editing the last question (Esc to cancel)"));
    this.editNote.append(button("Cancel", "anb-edit-cancel", () => this.cancelEdit(),
      { signal: this.lifetime.signal, title: "Stop editing" }));
    const row = h("div", "anb-input-row");
    row.append(this.input, ...(beside ? [beside] : []), this.sendButton);
    /** @type {InputAssist | null} */
    this.assist = assist ? assist(this.input) : null;
    if (onNew) {
      this.newButton = button("New conversation", "anb-new", () => onNew(), {
        signal: this.lifetime.signal, title: "Start a new conversation: the next message starts a new thread",
      });
      row.append(this.newButton);
    }
    this.attachments = attachments;
    this.el.append(this.editNote, ...(attachments ? [attachments.el] : []), row,
      ...(this.assist ? [this.assist.el] : []));
    this.listen();
    attachments?.typed(this.input.value);
  }

  /** Put the question of turn `t` in the box, to be edited and sent again. @param {number} t @param {string} text */
  edit(t, text) {
    this.editing = t;
    this.input.value = text;
    this.memory.draft = text;
    this.attachments?.typed(text);
    this.editNote.hidden = false;
    this.el.dataset.editing = "true";
    this.input.focus();
  }

  cancelEdit() {
    this.editing = null;
    this.editNote.hidden = true;
    delete this.el.dataset.editing;
  }

  listen() {
    const { input, memory } = this;
    const signal = this.lifetime.signal;
    listen(input, "input", () => {
      memory.draft = input.value;
      this.attachments?.typed(input.value);
      this.assist?.typed(input.value);
    }, signal);
    listen(input, "focus", () => {
      memory.focused = true;
    }, signal);
    listen(input, "blur", () => {
      // Chrome blurs a focused element that is being removed just before it goes: only a
      // box still on the page afterwards was left by the user.
      queueMicrotask(() => {
        if (input.isConnected) memory.focused = false;
      });
    }, signal);
    listen(this.el, "submit", (event) => {
      event.preventDefault();
      this.submit();
    }, signal);
    listen(input, "keydown", (/** @type {KeyboardEvent} */ event) => {
      // Enter (or Ctrl/Cmd+Enter) sends; Shift+Enter is the box's own new line. The cell's
      // key guard (dom.js keepKeys) keeps every key typed here from the notebook.
      if (this.assist?.key(event)) {
        event.preventDefault();
      } else if (isSendKey(event)) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape" && this.editing !== null) {
        this.cancelEdit();
      }
    }, signal);
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || !this.onSubmit(text, this.editing, this.attachments?.detached() ?? [])) return;
    this.input.value = "";
    this.memory.draft = "";
    this.attachments?.sent();
    this.cancelEdit();
  }

  /** @param {boolean} running */
  setBusy(running) {
    // set only when it changes: setting it again restyles the box (its :disabled state)
    if (this.sendButton.disabled !== running) this.sendButton.disabled = running;
    if (this.newButton && this.newButton.disabled !== running) this.newButton.disabled = running;
  }

  /**
   * Give the keyboard back to the input box if the box this one replaces had it, once the
   * box is on the page (the notebook attaches a view after rendering it), unless the user
   * has moved on.
   * @param {number} [frames] how many more frames to wait for the box to be attached
   */
  restoreFocus(frames = 120) {
    this.cancelFocus = null;
    const input = this.input;
    if (!this.memory.focused) return;
    if (!input.isConnected) {
      if (frames > 0) this.cancelFocus = this.schedule(() => this.restoreFocus(frames - 1));
      return;
    }
    const active = document.activeElement;
    if (active === null || active === document.body) input.focus({ preventScroll: true });
  }

  /** Stop listening and waiting; the box stays on the page until removed. */
  dispose() {
    this.attachments?.stop();
    if (this.cancelFocus) this.cancelFocus();
    this.cancelFocus = null;
    this.lifetime.abort();
  }

  remove() {
    this.dispose();
    this.el.remove();
  }
}

/**
 * @typedef {{
 *   signal: AbortSignal,
 *   onFollowup: (text: string) => void,
 *   copy: (text: string, feedback?: HTMLButtonElement) => void,
 * }} ChipsContext
 */

/** Suggested next questions: they start the next run, or, where that is not possible, copy. */
export class FollowupChips {
  /** @param {ChipsContext} context */
  constructor({ signal, onFollowup, copy }) {
    this.signal = signal;
    this.chipsLifetime = childController(signal);
    this.onFollowup = onFollowup;
    this.copy = copy;
    this.el = h("div", "anb-followups");
    this.el.hidden = true;
    this.shownKey = "";
  }

  /**
   * Chips that can no longer start a run (an earlier turn's) are drawn spent, and the one
   * that was asked next says so.
   * @param {string[]} followups
   * @param {{ canRun: boolean, disabled: boolean, asked?: string | null }} mode
   */
  update(followups, { canRun, disabled, asked = null }) {
    const key = JSON.stringify([followups, canRun, disabled, asked]);
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.chipsLifetime.abort();
    this.chipsLifetime = childController(this.signal);
    this.el.hidden = followups.length === 0;
    this.el.dataset.spent = String(!canRun);
    const chips = followups.map((text) => {
      const chip = canRun ? this.runChip(text) : this.copyChip(text, text === asked);
      chip.disabled = disabled;
      return chip;
    });
    this.el.replaceChildren(...chips);
  }

  /** @param {string} text */
  runChip(text) {
    return button(text, "anb-chip", () => this.onFollowup(text), {
      signal: this.chipsLifetime.signal,
      title: `Ask: ${text}`,
    });
  }

  /** @param {string} text @param {boolean} asked  it was the next turn's question */
  copyChip(text, asked) {
    /** @type {HTMLButtonElement} */
    const chip = button(text, "anb-chip anb-chip-copy", () => this.copy(text, chip), {
      signal: this.chipsLifetime.signal,
      title: asked ? "Asked next (click to copy)" : "Copy question",
    });
    if (asked) chip.dataset.asked = "true";
    return chip;
  }
}

/**
 * "Continue this conversation", under an opened past run: a click asks the kernel to open the
 * run's connection and the input box; where the conversation cannot go on (`continue_note`),
 * the reason is shown in its place, before anyone clicks.
 */
export class ContinueControl {
  /** @param {AbortSignal} signal @param {() => void} onContinue */
  constructor(signal, onContinue) {
    this.el = h("div", "anb-continue");
    this.requested = false;
    this.button = button("Continue this conversation", "anb-continue-button", () => {
      this.requested = true;
      this.button.disabled = true;
      onContinue();
    }, { signal, title: "Send the next message on this run's thread, on the connection it was made on" });
    this.note = h("span", "anb-continue-note");
    this.el.append(this.button, this.note);
    this.el.hidden = true;
  }

  /** @param {{ can_continue?: boolean, continue_note?: string }} options */
  update(options) {
    const note = options.continue_note || "";
    this.el.hidden = !options.can_continue && !note;
    this.button.hidden = !options.can_continue || note !== "";
    this.button.disabled = false;
    this.note.textContent = note;
    this.note.hidden = note === "";
  }
}
