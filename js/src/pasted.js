// @ts-check
/**
 * Images pasted into the chat cell's input (a screenshot, a copied chart), shown as thumbnails
 * above the box, each with its × to leave it out, and sent beside the next typed message as
 * its images (the kernel checks them again and sends them as the dialect takes images: an
 * ACP agent's `image` blocks). Only a cell whose agent takes images offers this.
 */
import { h, listen } from "./dom.js";

/** The most images one message takes, and the largest one (the kernel's bounds too). */
export const MAX_IMAGES = 4;
export const MAX_BYTES = 5 * 1024 * 1024;
const TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** @typedef {{ type: string, data: string }} PastedImage  a MIME type and base64 data */

export class PastedImages {
  /** @param {{ signal: AbortSignal, input: HTMLTextAreaElement }} context */
  constructor({ signal, input }) {
    this.signal = signal;
    this.el = h("div", "anb-pasted");
    this.el.setAttribute("aria-label", "Images pasted into the message");
    this.el.hidden = true;
    this.note = h("div", "anb-pasted-note");
    this.note.hidden = true;
    /** @type {PastedImage[]} */
    this.images = [];
    listen(input, "paste", (/** @type {ClipboardEvent} */ event) => this.pasted(event), signal);
  }

  /** @param {ClipboardEvent} event */
  pasted(event) {
    const files = [...(event.clipboardData?.items || [])]
      .filter((item) => item.kind === "file" && item.type.startsWith("image/"))
      .map((item) => item.getAsFile())
      .filter((file) => file !== null);
    if (files.length === 0) return;  // text: the box's own paste
    event.preventDefault();
    for (const file of /** @type {File[]} */ (files)) this.read(file);
  }

  /** @param {File} file */
  read(file) {
    if (!TYPES.has(file.type)) return this.say(`${file.type} is not sent: PNG, JPEG, GIF or WebP only`);
    if (file.size > MAX_BYTES) return this.say(`an image of ${file.size.toLocaleString("en")} bytes is not sent: ${MAX_BYTES.toLocaleString("en")} at most`);
    const reader = new FileReader();
    listen(reader, "load", () => {
      const url = String(reader.result || "");
      const data = url.slice(url.indexOf(",") + 1);
      if (this.images.length >= MAX_IMAGES) return this.say(`a message takes ${MAX_IMAGES} images at most`);
      this.images.push({ type: file.type, data });
      this.draw();
    }, this.signal);
    reader.readAsDataURL(file);
  }

  /** @param {string} text */
  say(text) {
    this.note.textContent = text;
    this.note.hidden = false;
  }

  draw() {
    const items = this.images.map((image, i) => {
      const item = h("span", "anb-pasted-item");
      const thumb = h("img", "anb-pasted-thumb");
      thumb.src = `data:${image.type};base64,${image.data}`;  // the person's own image, an image element
      thumb.alt = `Pasted image ${i + 1}`;
      const remove = h("button", "anb-pasted-remove", "×");
      remove.type = "button";
      remove.title = remove.ariaLabel = `Leave out pasted image ${i + 1}`;
      listen(remove, "click", () => {
        this.images.splice(i, 1);
        this.draw();
      }, this.signal);
      item.append(thumb, remove);
      return item;
    });
    this.el.replaceChildren(...items, this.note);
    this.el.hidden = this.images.length === 0 && this.note.hidden;
  }

  /** The images to send with the message now sent, and none after it. @returns {PastedImage[]} */
  take() {
    const images = this.images;
    this.images = [];
    this.note.hidden = true;
    this.draw();
    return images;
  }
}
