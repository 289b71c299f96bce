// @ts-check
/**
 * The attachments a typed message would carry, above the chat input: a chip per `@` mention
 * (`@df`, `@error`, `@In[3]`) that opens to the exact text the kernel would send for it,
 * read in the kernel as the person types (a request a moment after the typing stops; only
 * the answer to the latest request is shown). A chip's × leaves its mention unattached (the
 * message then goes as written, without that summary; "Attach" takes it back); a name the
 * kernel lacks shows the kernel's reason, as sending would. Everything the kernel sent is
 * shown as text through `visible()` (a summary's line breaks kept).
 */
import { button, childController, h, listen } from "./dom.js";
import { visible } from "./format.js";

/** Milliseconds of no typing before the kernel is asked. */
export const PREVIEW_DELAY_MS = 250;

/**
 * @typedef {{ mention: string, text: string }} Attachment
 * @typedef {{ kind: "attachments", n: number, items: Attachment[], error: string | null }}
 *   AttachmentsMessage
 * @typedef {{
 *   signal: AbortSignal,
 *   model: import("./sync.js").WidgetModel,
 *   wait?: (cb: () => void, ms: number) => () => void,
 * }} AttachmentsContext  `wait`: a timer (setTimeout by default; tests pass their own)
 */

export class AttachmentChips {
  /** @param {AttachmentsContext} context */
  constructor({ signal, model, wait = later }) {
    this.lifetime = childController(signal);
    this.model = model;
    this.wait = wait;
    /** The latest request's number: an answer to an older one is dropped. */
    this.asked = 0;
    /** @type {(() => void) | null} */
    this.cancelWait = null;
    /** @type {Attachment[]} */
    this.items = [];
    /** Why the kernel would refuse the message, if it would. @type {string | null} */
    this.error = null;
    /** Mentions the person removed: sent as written, attaching nothing. @type {Set<string>} */
    this.removed = new Set();
    /** Mentions whose text is shown open. @type {Set<string>} */
    this.open = new Set();
    this.el = h("div", "anb-attachments");
    this.el.setAttribute("aria-label", "Attached to this message");
    this.el.hidden = true;
    this.onMessage = this.onMessage.bind(this);
    model.on("msg:custom", this.onMessage);
  }

  /** The message in the box changed: ask the kernel about its mentions once typing pauses. */
  /** @param {string} text */
  typed(text) {
    if (this.cancelWait) this.cancelWait();
    this.cancelWait = null;
    this.asked += 1;
    if (!text.includes("@")) {
      this.show([], null);
      return;
    }
    const n = this.asked;
    this.cancelWait = this.wait(() => {
      this.cancelWait = null;
      this.model.send({ kind: "preview", n, text });
    }, PREVIEW_DELAY_MS);
  }

  /** @param {unknown} msg */
  onMessage(msg) {
    const answer = /** @type {AttachmentsMessage} */ (msg);
    if (!answer || answer.kind !== "attachments" || answer.n !== this.asked) return;
    this.show(Array.isArray(answer.items) ? answer.items : [], answer.error ?? null);
  }

  /** The mentions to send unattached: the removed ones the message still has. */
  detached() {
    return this.items.map((item) => item.mention).filter((m) => this.removed.has(m));
  }

  /** The message went: nothing is attached to the empty box. */
  sent() {
    this.removed.clear();
    this.open.clear();
    this.typed("");
  }

  /** @param {Attachment[]} items @param {string | null} error */
  show(items, error) {
    this.items = items;
    this.error = error;
    /** @type {HTMLElement[]} */
    const chips = items.map((item) => this.chip(item));
    if (error) {
      const refused = h("div", "anb-attachment-error", `⚠ ${visible(error)}`);
      refused.setAttribute("role", "alert");
      chips.push(refused);
    }
    this.el.replaceChildren(...chips);
    this.el.hidden = chips.length === 0;
  }

  /** @param {Attachment} item */
  chip({ mention, text }) {
    const removed = this.removed.has(mention);
    const chip = h("details", "anb-attachment");
    chip.dataset.mention = mention;
    chip.dataset.attached = String(!removed);
    chip.open = this.open.has(mention) && !removed;
    const head = h("summary", "anb-attachment-head");
    const name = h("span", "anb-attachment-name", visible(mention));
    head.append(name);
    const signal = this.lifetime.signal;
    if (removed) {
      head.append(h("span", "anb-attachment-note", "not attached"));
      head.append(button("Attach", "anb-attachment-undo", () => this.toggle(mention), {
        signal, title: `Attach ${visible(mention)} again`,
      }));
    } else {
      head.append(button("×", "anb-attachment-remove", () => this.toggle(mention), {
        signal, title: `Remove ${visible(mention)}: send the message without it`,
      }));
    }
    const body = h("pre", "anb-attachment-text",
      text.split("\n").map((line) => visible(line)).join("\n"));
    listen(chip, "toggle", () => {
      if (chip.open) this.open.add(mention);
      else this.open.delete(mention);
    }, signal);
    chip.append(head, body);
    return chip;
  }

  /** @param {string} mention */
  toggle(mention) {
    if (this.removed.has(mention)) this.removed.delete(mention);
    else this.removed.add(mention);
    this.show(this.items, this.error);
  }

  /** Stop listening and waiting (the view goes). */
  stop() {
    this.lifetime.abort();
    if (this.cancelWait) this.cancelWait();
    this.cancelWait = null;
    this.model.off("msg:custom", this.onMessage);
  }
}

/** @param {() => void} cb @param {number} ms */
function later(cb, ms) {
  const timer = setTimeout(cb, ms);
  return () => clearTimeout(timer);
}
