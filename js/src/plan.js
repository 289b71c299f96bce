// @ts-check
/**
 * An agent's plan (an ACP agent's `plan` updates) as a checklist in its turn, redrawn as the
 * agent updates it: each entry done, in progress or pending, with its priority. The kernel
 * sends the first entries (and how many more there are), each entry's text bounded and with
 * what would not show as itself marked; it reaches the page as text only.
 */
import { h } from "./dom.js";

/** The mark and the words of each status (the words for a screen reader and on hover). */
const STATUS = /** @type {Record<string, [string, string]>} */ ({
  completed: ["☑", "done"],
  in_progress: ["◐", "in progress"],
  pending: ["☐", "pending"],
});

export class PlanView {
  constructor() {
    this.el = h("div", "anb-plan");
    this.el.setAttribute("role", "group");
    this.el.setAttribute("aria-label", "The agent's plan");
    this.title = h("div", "anb-plan-title", "Plan");
    this.list = h("ol", "anb-plan-list");
    this.more = h("div", "anb-plan-more");
    this.el.append(this.title, this.list, this.more);
    this.el.hidden = true;
    /** What is drawn (redrawn only when it changes). */
    this.shownKey = "";
  }

  /** @param {import("./state.js").PlanState | null | undefined} plan */
  update(plan) {
    const key = plan ? JSON.stringify(plan) : "";
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.el.hidden = !plan || (plan.entries.length === 0 && !plan.more);
    if (!plan) return;
    const done = plan.entries.filter((entry) => entry.status === "completed").length;
    this.title.textContent = `Plan · ${done} of ${(plan.entries.length + plan.more).toLocaleString("en")} done`;
    this.list.replaceChildren(...plan.entries.map((entry) => planItem(entry)));
    this.more.textContent = plan.more ? `… ${plan.more.toLocaleString("en")} more steps` : "";
    this.more.hidden = !plan.more;
  }
}

/** @param {import("./state.js").PlanEntry} entry */
function planItem(entry) {
  const [mark, said] = STATUS[entry.status] || STATUS.pending;
  const item = h("li", "anb-plan-entry");
  item.dataset.status = STATUS[entry.status] ? entry.status : "pending";
  const glyph = h("span", "anb-plan-mark", mark);
  glyph.setAttribute("aria-hidden", "true");
  const text = h("span", "anb-plan-text", entry.content);
  item.append(glyph, text);
  if (entry.priority) {
    const priority = h("span", "anb-plan-priority", entry.priority);
    priority.dataset.priority = entry.priority;
    item.append(priority);
  }
  item.title = `${said}${entry.priority ? `, ${entry.priority} priority` : ""}`;
  item.setAttribute("aria-label", `${entry.content} (${item.title})`);
  return item;
}
