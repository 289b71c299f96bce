// @ts-check
/**
 * The human decision on a tool call the platform runs only once approved: Approve and Deny
 * (with an optional reason) while the call waits, then what was decided. When the agent asks
 * a free-form question, the box shows it with an answer box, Send and Deny instead (Enter
 * sends); the answer goes to the kernel the way Approve does. A click disables the
 * controls at once; what the kernel reports next (the call approved, denied, or no longer
 * waiting) replaces them. A refusal from the kernel (a call already decided, say) comes back
 * as the widget's notice.
 */
import { button, h, isSendKey, listen } from "./dom.js";

/**
 * @typedef {import("./state.js").ToolState} ToolState
 * @typedef {(callId: string, approved: boolean, reason: string | null, answer?: string) => void}
 *   Decide  `answer`: the reply to the call's question (with approved true)
 */

export class ApprovalBox {
  /** @param {{ signal: AbortSignal, decide: Decide }} context */
  constructor({ signal, decide }) {
    this.decide = decide;
    this.callId = "";
    this.name = "";
    /** The decision this view sent and the kernel has not reported yet, if any. */
    /** @type {boolean | null} */
    this.sent = null;
    this.el = h("div", "anb-approval");
    this.el.setAttribute("role", "group");
    this.el.hidden = true;
    this.ask = h("div", "anb-approval-ask");
    this.actions = h("div", "anb-approval-actions");
    this.approveButton = button("Approve", "anb-approve", () => this.send(true),
      { signal, title: "Approve" });
    this.reason = h("input", "anb-deny-reason");
    this.reason.type = "text";
    this.reason.placeholder = "Reason (optional)";
    this.denyButton = button("Deny", "anb-deny", () => this.send(false), { signal, title: "Deny" });
    listen(this.reason, "keydown", (/** @type {KeyboardEvent} */ event) => {
      if (isSendKey(event)) {
        event.preventDefault();
        this.send(false);
      }
    }, signal);
    this.answer = h("input", "anb-answer-input");
    this.answer.type = "text";
    this.answer.placeholder = "Your answer";
    this.sendButton = button("Send", "anb-send-answer", () => this.sendAnswer(),
      { signal, title: "Send your answer" });
    listen(this.answer, "keydown", (/** @type {KeyboardEvent} */ event) => {
      if (isSendKey(event)) {
        event.preventDefault();
        this.sendAnswer();
      }
    }, signal);
    /** The agent's question on this call, if it asks one. */
    /** @type {string | null} */
    this.question = null;
    this.actions.append(this.answer, this.sendButton, this.approveButton, this.reason,
      this.denyButton);
    this.outcome = h("div", "anb-approval-outcome");
    this.outcome.setAttribute("role", "status");
    this.el.append(this.ask, this.actions, this.outcome);
  }

  /** @param {ToolState} call */
  update(call) {
    const approval = call.approval;
    this.el.hidden = !approval;
    if (!approval) return;
    this.callId = call.call_id;
    this.name = call.name || "tool";
    this.label(this.name);
    const waiting = approval.state === "awaiting" && call.status === "awaiting_approval";
    if (!waiting) this.sent = null;
    this.question = typeof approval.question === "string" ? approval.question : null;
    this.showQuestion(this.question !== null);
    this.ask.textContent = askText(approval, this.name, waiting);
    this.actions.hidden = !waiting;
    const pending = waiting && this.sent !== null;
    for (const control of this.controls()) control.disabled = pending;
    this.el.dataset.state = boxState(approval.state, waiting, pending);
    this.outcome.textContent = outcomeText(approval, waiting, this.sent);
  }

  /** @param {boolean} asking  the call asks a question: answer box, Send, Deny */
  showQuestion(asking) {
    this.el.dataset.question = asking ? "true" : "false";
    this.answer.hidden = !asking;
    this.sendButton.hidden = !asking;
    this.approveButton.hidden = asking;
    this.reason.hidden = asking;
  }

  /** @returns {(HTMLInputElement | HTMLButtonElement)[]} */
  controls() {
    return [this.approveButton, this.denyButton, this.reason, this.answer, this.sendButton];
  }

  /** @param {string} name */
  label(name) {
    this.el.setAttribute("aria-label", `Approve or deny ${name}`);
    setLabel(this.approveButton, `Approve ${name}: let it run`);
    setLabel(this.denyButton, `Deny ${name}: do not run it`);
    this.reason.setAttribute("aria-label", `Reason for denying ${name} (optional)`);
    this.answer.setAttribute("aria-label", `Your answer to ${name}'s question`);
    setLabel(this.sendButton, `Send your answer to ${name}`);
  }

  /** Send the typed answer (an approving decision that carries it); a blank box sends nothing. */
  sendAnswer() {
    if (this.sent !== null || !this.callId || this.question === null) return;
    const text = this.answer.value;
    if (!text.trim()) {
      this.answer.focus();
      return;
    }
    this.sent = true;
    for (const control of this.controls()) control.disabled = true;
    this.el.dataset.state = "sending";
    this.outcome.textContent = "Sending your answer…";
    this.decide(this.callId, true, null, text);
  }

  /** @param {boolean} approved */
  send(approved) {
    if (this.sent !== null || !this.callId) return;
    this.sent = approved;
    const reason = approved ? null : this.reason.value.trim() || null;
    for (const control of this.controls()) control.disabled = true;
    this.el.dataset.state = "sending";
    this.outcome.textContent = approved ? "Approving…" : "Denying…";
    this.decide(this.callId, approved, reason);
  }
}

/**
 * `awaiting` (buttons on), `sending` (a click went to the kernel), `approved`, `denied`, or
 * `undecided` (the run ended before anyone decided).
 * @param {string} state @param {boolean} waiting @param {boolean} pending
 */
function boxState(state, waiting, pending) {
  if (pending) return "sending";
  if (state === "awaiting" && !waiting) return "undecided";
  return state;
}

/**
 * What the box says the platform asks: the agent's question, or why approval is needed.
 * @param {NonNullable<ToolState["approval"]>} approval @param {string} name
 * @param {boolean} waiting
 */
function askText(approval, name, waiting) {
  if (typeof approval.question === "string") {
    return `${name} asks: ${approval.question || "(an empty question)"}`;
  }
  const asked = waiting ? "Approval needed" : "Approval requested";
  return approval.reason ? `${asked}: ${approval.reason}` : `${asked} before ${name} runs.`;
}

/** @param {HTMLElement} el @param {string} text */
function setLabel(el, text) {
  el.title = text;
  el.setAttribute("aria-label", text);
}

/**
 * @param {NonNullable<ToolState["approval"]>} approval
 * @param {boolean} waiting  the call still waits for a decision
 * @param {boolean | null} sent  the decision this view sent, if any
 */
export function outcomeText(approval, waiting, sent) {
  if (approval.state === "approved" && typeof approval.answer === "string") {
    return `Answered: ${approval.answer}`;
  }
  if (approval.state === "approved" || approval.state === "denied") {
    const verb = approval.state === "approved" ? "Approved" : "Denied";
    return approval.decision_reason ? `${verb}: ${approval.decision_reason}` : verb;
  }
  if (!waiting) return "No decision was made: the run ended first.";
  if (sent !== null && typeof approval.question === "string") {
    return sent ? "Sending your answer…" : "Denying…";
  }
  if (sent !== null) return sent ? "Approving…" : "Denying…";
  return "Waiting for your decision.";
}
