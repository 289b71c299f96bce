// @ts-check
/**
 * anywidget entry point: `render({ model, el })` draws one chat cell and returns its cleanup.
 */
import { ChatView } from "./chat.js";

/** @param {{ model: import("./sync.js").WidgetModel, el: HTMLElement }} context */
function render({ model, el }) {
  const view = new ChatView(el, model);
  view.start();
  return () => view.destroy();
}

export default { render };
