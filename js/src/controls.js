// @ts-check
/**
 * An agent session's own controls beside the chat input (an ACP agent's, as Zed offers them):
 * a selector for each setting it offers (model, mode, effort, ...), whose pick the kernel sets
 * on the open session at once (shown pending until the agent answers; refused, the selector
 * goes back and the reason shows under it) and the next messages ask for, and the slash
 * commands it advertises, offered as `/` is typed (arrow keys move, Enter or Tab takes one,
 * Escape closes). The kernel sends the settings and commands
 * bounded, their names with what would not show as itself marked; they reach the page as text.
 */
import { childController, h, isSendKey, listen } from "./dom.js";

/**
 * @typedef {{ value: string, name: string }} ChoiceState
 * @typedef {{ id: string, name: string, category?: string | null, current?: string | boolean | null,
 *   pending?: boolean, choices: ChoiceState[] }} SettingState  `pending`: being set on the session
 * @typedef {{ name: string, label: string, description: string, hint: string }} CommandState
 * @typedef {{ settings: SettingState[], commands: CommandState[], more_commands?: number,
 *   error?: string | null }} SessionState  `error`: why the last pick was refused
 */

/** How many matching commands the `/` menu lists at once. */
export const MENU_ROWS = 50;

let menuIds = 0;

/** A selector per setting of the session; a pick is sent as `onChoose(id, value)`. */
export class SessionBar {
  /** @param {{ signal: AbortSignal, onChoose: (id: string, value: string) => void }} context */
  constructor({ signal, onChoose }) {
    this.signal = signal;
    this.onChoose = onChoose;
    this.lifetime = childController(signal);
    this.el = h("div", "anb-session");
    this.el.setAttribute("role", "group");
    this.el.setAttribute("aria-label", "The agent's settings");
    this.el.hidden = true;
    this.shownKey = "";
  }

  /** @param {SessionState | null | undefined} session */
  update(session) {
    const settings = session?.settings || [];
    const error = session?.error || "";
    const key = JSON.stringify([settings, error]);
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.lifetime.abort();
    this.lifetime = childController(this.signal);
    this.el.hidden = settings.length === 0;
    const said = h("div", "anb-session-error", error);
    said.setAttribute("role", "alert");
    said.hidden = !error;
    this.el.replaceChildren(...settings.map((setting) => this.selector(setting)), said);
  }

  /**
   * A pick the kernel has not answered yet: the selector keeps it, marked pending, until the
   * session's state comes back (set, or refused and put back).
   * @param {HTMLElement} label @param {HTMLSelectElement} select
   */
  markPending(label, select) {
    label.classList.add("anb-setting-pending");
    select.setAttribute("aria-busy", "true");
    if (!label.querySelector(".anb-setting-status")) {
      label.append(h("span", "anb-setting-status", "setting…"));
    }
  }

  /** @param {SettingState} setting */
  selector(setting) {
    const label = h("label", "anb-setting");
    label.dataset.category = setting.category || "";
    const select = h("select", "anb-setting-select");
    select.setAttribute("aria-label", setting.name);
    select.title = setting.name;
    const current = setting.current === null || setting.current === undefined ? "" : String(setting.current);
    const options = setting.choices.map((choice) => {
      const option = h("option", "", choice.name || choice.value);
      option.value = choice.value;
      return option;
    });
    if (current && !setting.choices.some((choice) => choice.value === current)) {
      const option = h("option", "", current);  // the agent's current value, not among those listed
      option.value = current;
      options.unshift(option);
    }
    select.append(...options);
    select.value = current;
    listen(select, "change", () => {
      this.markPending(label, select);
      this.onChoose(setting.id, select.value);
    }, this.lifetime.signal);
    label.append(h("span", "anb-setting-name", setting.name), select);
    if (setting.pending) this.markPending(label, select);
    return label;
  }
}

/**
 * The commands a `/` typed at the start of the message offers, listed under the input.
 * `key(event)` takes the keys that move in the list and pick from it while it is open.
 */
export class SlashMenu {
  /** @param {{ signal: AbortSignal, input: HTMLTextAreaElement }} context */
  constructor({ signal, input }) {
    this.input = input;
    this.id = `anb-slash-${++menuIds}`;
    this.el = h("div", "anb-slash");
    this.list = h("ul", "anb-slash-list");
    this.list.id = this.id;
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "Commands");
    this.note = h("div", "anb-slash-note");
    this.el.append(this.list, this.note);
    this.el.hidden = true;
    /** @type {CommandState[]} */
    this.commands = [];
    this.more = 0;
    /** @type {CommandState[]} */
    this.shown = [];
    this.active = 0;
    input.setAttribute("aria-controls", this.id);
    input.setAttribute("aria-autocomplete", "list");
    // A click picks without taking the keyboard from the box.
    listen(this.list, "mousedown", (/** @type {MouseEvent} */ event) => {
      const item = /** @type {Element | null} */ (event.target)?.closest?.("[data-index]");
      if (!item) return;
      event.preventDefault();
      this.pick(Number(/** @type {HTMLElement} */ (item).dataset.index));
    }, signal);
  }

  /** @param {SessionState | null | undefined} session */
  setCommands(session) {
    this.commands = session?.commands || [];
    this.more = session?.more_commands || 0;
    this.typed(this.input.value);
  }

  /** What the box holds now: the menu opens on a `/` word at its start, and filters. @param {string} text */
  typed(text) {
    const word = /^\/(\S*)$/.exec(text);
    if (!word || this.commands.length === 0) {
      this.close();
      return;
    }
    const typed = word[1].toLowerCase();
    this.shown = this.commands.filter((command) => command.name.toLowerCase().startsWith(typed));
    if (this.shown.length === 0) {
      this.close();
      return;
    }
    this.active = Math.min(this.active, this.shown.length - 1);
    this.draw();
  }

  draw() {
    const rows = this.shown.slice(0, MENU_ROWS).map((command, i) => {
      const row = h("li", "anb-slash-item");
      row.id = `${this.id}-${i}`;
      row.dataset.index = String(i);
      row.setAttribute("role", "option");
      row.setAttribute("aria-selected", String(i === this.active));
      row.append(h("code", "anb-slash-name", `/${command.label}`));
      if (command.hint) row.append(h("span", "anb-slash-hint", command.hint));
      row.append(h("span", "anb-slash-description", command.description));
      return row;
    });
    this.list.replaceChildren(...rows);
    const hidden = this.shown.length - rows.length + (this.shown.length === this.commands.length ? this.more : 0);
    this.note.textContent = hidden > 0 ? `… ${hidden.toLocaleString("en")} more: type to narrow` : "";
    this.note.hidden = hidden <= 0;
    this.el.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `${this.id}-${this.active}`);
  }

  close() {
    if (this.el.hidden) return;
    this.el.hidden = true;
    this.shown = [];
    this.active = 0;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  /** A key pressed in the box: true when the open menu took it. @param {KeyboardEvent} event */
  key(event) {
    if (this.el.hidden) return false;
    const rows = Math.min(this.shown.length, MENU_ROWS);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : rows - 1)) % rows;
      this.draw();
      this.list.children[this.active]?.scrollIntoView?.({ block: "nearest" });
      return true;
    }
    if ((isSendKey(event) || (event.key === "Tab" && !event.shiftKey)) && rows > 0) {
      this.pick(this.active);
      return true;
    }
    if (event.key === "Escape") {
      this.close();
      return true;
    }
    return false;
  }

  /** Put the command in the box, ready for its input. @param {number} i */
  pick(i) {
    const command = this.shown[i];
    if (!command) return;
    this.input.value = `/${command.name} `;
    const view = this.input.ownerDocument.defaultView;
    if (view) this.input.dispatchEvent(new view.Event("input", { bubbles: true }));
    this.close();
    this.input.focus();
  }
}
