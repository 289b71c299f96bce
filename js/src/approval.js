// @ts-check
/**
 * The human decision on a tool call the platform runs only once approved: Approve and Deny
 * (with an optional reason) while the call waits, then what was decided. A call that offers
 * to be allowed for the rest of the run (a read of the notebook: `approval.for_run` names
 * what) also has "Allow for this run": the run's later such calls then pass without asking
 * (where the agent decides what that choice covers, an ACP agent's "always", the button says
 * the agent's own words, `approval.agent_option`);
 * what the read would send (read by the kernel itself: `shown.sends`, its reason's lines
 * under the first) is shown as lines in a block of their own. When the agent asks
 * a free-form question, the box shows it with an answer box, Send and Deny instead (Enter
 * sends); the answer goes to the kernel the way Approve does. A click disables the
 * controls at once; what the kernel reports next (the call approved, denied, or no longer
 * waiting) replaces them. A refusal from the kernel (a call already decided, say) comes back
 * as the widget's notice.
 *
 * Above the controls the box shows the call as the kernel's `shown_call` does: the name, every
 * argument key with its value (long values clipped, each saying how many characters it
 * hides), a "Show whole call" control when some value is clipped or some field is kept aside
 * (an ACP agent's bookkeeping: `shown.aside`, shown in the whole call only), and the warnings (a name
 * that is not a plain identifier, a key named twice at any depth). When the platform sent the
 * call in versions that disagree, the one it acts on comes first and the others below it,
 * each under a flagged head line; the box is marked (`data-versions`), Approve reads
 * "Approve anyway" and Deny comes first. A call no decision can be bound to (agentnb denies
 * it whatever is answered) says why. Everything the server sent (name, keys,
 * values, reason, question) is shown through `visible()`: nothing can start a line or reorder
 * text. A decision the server made itself says so, and a call that ran without the user's
 * approval is marked. A call that writes a file shows the diff it writes, rendered, above the
 * controls (diff.js).
 */
import { DiffView, diffOf } from "./diff.js";
import { button, h, isSendKey, listen } from "./dom.js";
import { clockTime, formatCount, visible } from "./format.js";

/**
 * @typedef {import("./state.js").ToolState} ToolState
 * @typedef {(callId: string, approved: boolean, reason: string | null, answer?: string,
 *   forRun?: boolean) => void} Decide  `answer`: the reply to the call's question (with
 *   approved true); `forRun`: approve what the call offers for the rest of the run too
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
    /** What a read of the notebook would send, line by line (hidden for other calls). */
    this.sends = h("pre", "anb-approval-sends");
    this.sends.hidden = true;
    this.shownCall = h("div", "anb-approval-call");
    this.callText = h("pre", "anb-approval-call-text");
    /** The platform's other versions of the call, flagged (hidden when there are none). */
    this.otherText = h("pre", "anb-approval-other");
    this.callWarnings = h("div", "anb-approval-warnings");
    this.clipNote = h("div", "anb-approval-clipped");
    this.clipText = h("span", "", "");
    /** Whether the whole call (no value clipped) is shown. */
    this.whole = false;
    this.wholeButton = button("Show whole call", "anb-show-whole", () => this.toggleWhole(),
      { signal, title: "Show every argument value whole" });
    this.clipNote.append(this.clipText, this.wholeButton);
    /** The diff the call writes, rendered (hidden when it writes none). */
    this.diff = new DiffView();
    this.shownCall.append(this.callWarnings, this.callText, this.otherText, this.clipNote,
      this.diff.el);
    /** @type {import("./state.js").ShownCallState | null} */
    this.shown = null;
    this.actions = h("div", "anb-approval-actions");
    this.approveButton = button("Approve", "anb-approve", () => this.send(true),
      { signal, title: "Approve" });
    this.runButton = button("Allow for this run", "anb-approve-run", () => this.send(true, true),
      { signal, title: "Allow for this run" });
    /** What "Allow for this run" allows with this call, when it offers that. */
    /** @type {string | null} */
    this.forRun = null;
    /** The agent's own words for that choice, where the agent decides what it covers. */
    /** @type {string | null} */
    this.agentOption = null;
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
    this.actions.append(this.answer, this.sendButton, this.approveButton, this.runButton,
      this.reason, this.denyButton);
    /** Whether the platform sent versions of the call that disagree (Deny then leads). */
    this.disagrees = false;
    this.outcome = h("div", "anb-approval-outcome");
    this.outcome.setAttribute("role", "status");
    this.el.append(this.ask, this.sends, this.shownCall, this.actions, this.outcome);
  }

  /** @param {ToolState} call */
  update(call) {
    const approval = call.approval;
    this.el.hidden = !approval;
    if (!approval) return;
    this.callId = call.call_id;
    this.name = approval.shown?.name || visible(call.name || "tool");
    this.forRun = typeof approval.for_run === "string" ? approval.for_run : null;
    this.agentOption = typeof approval.agent_option === "string" ? visible(approval.agent_option)
      : null;
    const runText = this.agentOption ?? "Allow for this run";
    if (this.runButton.textContent !== runText) this.runButton.textContent = runText;
    this.label(this.name);
    this.showCall(approval.shown ?? null);
    this.diff.update(diffOf(call));
    const waiting = approval.state === "awaiting" && call.status === "awaiting_approval";
    if (!waiting) this.sent = null;
    this.question = typeof approval.question === "string" ? approval.question : null;
    this.showQuestion(this.question !== null);
    const sends = approval.shown?.sends ?? [];
    this.ask.textContent = askText(approval, this.name, waiting);
    this.sends.hidden = sends.length === 0;
    this.sends.textContent = sends.join("\n");
    this.actions.hidden = !waiting;
    const pending = waiting && this.sent !== null;
    for (const control of this.controls()) control.disabled = pending;
    this.el.dataset.state = boxState(approval.state, waiting, pending);
    this.outcome.textContent = outcomeText(approval, waiting, this.sent);
    this.el.dataset.decidedBy = approval.decided_by || "";
    this.el.dataset.unapproved = call.unapproved ? "true" : "false";
    if (call.unapproved) {
      this.outcome.textContent += `\n⚠ Ran without your approval: ${call.unapproved}.`;
    }
  }

  /** @param {import("./state.js").ShownCallState | null} shown */
  showCall(shown) {
    this.shown = shown;
    this.shownCall.hidden = !shown;
    if (!shown) return;
    this.callWarnings.textContent = shown.warnings.map((w) => `⚠ ${w}`).join("\n");
    this.callWarnings.hidden = shown.warnings.length === 0;
    const others = shown.others ?? [];
    this.el.dataset.versions = String(others.length + 1);
    this.disagree(others.length > 0);
    const clipped = [shown, ...others].flatMap((v) => v.arguments)
      .filter(([, , hidden]) => hidden > 0).length;
    const aside = shown.aside ?? [];
    const whole = this.whole && clipped + aside.length > 0;
    this.clipNote.hidden = clipped + aside.length === 0;
    const left = [
      clipped ? `${clipped} value${clipped > 1 ? "s are" : " is"} clipped here` : "",
      aside.length ? `${aside.join(" and ")} kept aside` : "",
    ].filter(Boolean);
    this.clipText.textContent = left.map((said) => `${said}. `).join("");
    this.wholeButton.textContent = this.whole ? "Show clipped call" : "Show whole call";
    this.wholeButton.setAttribute("aria-expanded", this.whole ? "true" : "false");
    this.callText.textContent = callLines(shown, whole);
    this.otherText.hidden = others.length === 0;
    this.otherText.textContent = others
      .map((other) => `⚠ also sent, in ${other.where} (not the one shown first):\n${
        callLines(other, whole)}`)
      .join("\n");
  }

  /**
   * Versions that disagree: Deny leads (first in the keyboard order) and Approve says it
   * approves the version shown first anyway.
   * @param {boolean} disagrees
   */
  disagree(disagrees) {
    if (disagrees === this.disagrees) return;
    this.disagrees = disagrees;
    if (disagrees) {
      this.actions.prepend(this.reason, this.denyButton);
    } else {
      this.actions.append(this.reason, this.denyButton);
    }
    this.label(this.name);
  }

  /** Show the call whole, or clipped again. */
  toggleWhole() {
    this.whole = !this.whole;
    this.showCall(this.shown);
  }

  /** @param {boolean} asking  the call asks a question: answer box, Send, Deny */
  showQuestion(asking) {
    this.el.dataset.question = asking ? "true" : "false";
    this.answer.hidden = !asking;
    this.sendButton.hidden = !asking;
    this.approveButton.hidden = asking;
    this.runButton.hidden = asking || this.forRun === null;
    this.reason.hidden = asking;
  }

  /** @returns {(HTMLInputElement | HTMLButtonElement)[]} */
  controls() {
    return [this.approveButton, this.runButton, this.denyButton, this.reason, this.answer,
      this.sendButton];
  }

  /** @param {string} name */
  label(name) {
    this.el.setAttribute("aria-label", `Approve or deny ${name}`);
    setLabel(this.approveButton, this.disagrees
      ? `Approve ${name} anyway: run the version shown first`
      : `Approve ${name}: let it run`);
    this.approveButton.textContent = this.disagrees ? "Approve anyway" : "Approve";
    setLabel(this.runButton, this.agentOption !== null
      ? `Approve ${name} with the agent's option “${this.agentOption}”: the agent decides ` +
        "what that covers and how long it keeps it"
      : `Approve ${name}, and the later ${
        visible(this.forRun ?? "such calls")} in this run without asking`);
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

  /**
   * @param {boolean} approved
   * @param {boolean} [forRun]  also allow what the call offers for the rest of the run
   */
  send(approved, forRun = false) {
    if (this.sent !== null || !this.callId) return;
    this.sent = approved;
    const reason = approved ? null : this.reason.value.trim() || null;
    for (const control of this.controls()) control.disabled = true;
    this.el.dataset.state = "sending";
    this.outcome.textContent = approved ? "Approving…" : "Denying…";
    if (forRun) {
      this.decide(this.callId, true, null, undefined, true);
    } else {
      this.decide(this.callId, approved, reason);
    }
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
 * What the box says the platform asks: the agent's question, or why approval is needed, as
 * the kernel's `shown_call` heads the call (`shown.head`: none where the reason only repeats
 * the call's face, Codex's title or its command; its first line where what follows is shown
 * apart, a read's lines or a diff), its later lines hung under the first (widget.css). A
 * state without the kernel's `shown` says its reason whole.
 * @param {NonNullable<ToolState["approval"]>} approval @param {string} name
 * @param {boolean} waiting
 */
function askText(approval, name, waiting) {
  if (typeof approval.question === "string") {
    return `${name} asks: ${visible(approval.question) || "(an empty question)"}`;
  }
  const asked = waiting ? "Approval needed" : "Approval requested";
  const reason = approval.shown?.head
    ?? (approval.reason ?? "").split("\n").map(visible).join("\n");
  return reason ? `${asked}: ${reason}` : `${asked} before ${name} runs.`;
}

/**
 * `name(` then `  key: value` per argument (a text of several lines under it) and `)`;
 * clipped values end with `… (+N chars)` unless `whole`.
 * @param {{name: string, arguments: [string, string, number][], whole: [string, string][]}}
 *   shown  a shown call, or another version of it
 * @param {boolean} whole
 */
export function callLines(shown, whole) {
  const args = whole
    ? shown.whole.map(([key, value]) => argumentText(key, value, 0))
    : shown.arguments.map(([key, value, hidden]) => argumentText(key, value, hidden));
  if (args.length === 0) return `${shown.name}()`;
  const lines = args.flatMap((text) => text.split("\n"));
  return [`${shown.name}(`, ...lines.map((line) => `  ${line}`), ")"].join("\n");
}

/**
 * `key: value`, a card's text of several lines (the only values holding a line break) with
 * each line under the first, so none can pass for another argument.
 * @param {string} key @param {string} value @param {number} hidden
 */
function argumentText(key, value, hidden) {
  const head = key ? `${key}: ` : "";
  const more = hidden > 0 ? `… (+${formatCount(hidden)} chars)` : "";
  return head + `${value}${more}`.replaceAll("\n", `\n${" ".repeat(Math.max(head.length, 2))}`);
}

/** Who decided, after "Approved" / "Denied" (nothing for the user). */
const DECIDERS = /** @type {Record<string, string>} */ ({
  policy: " by your approve= policy",
  server: " by the server itself, not by you",
});

/** Who decided, in a finished card's head. */
const DECIDED_BY = /** @type {Record<string, string>} */ ({
  user: "by you",
  policy: "by your approve= policy",
  server: "by the server",
});

/**
 * A decided call's status for its card's head, with who decided and when (`succeeded ·
 * approved by you 13:40:12`, `denied by you 13:40:12`), so a folded card still says who let
 * it run; the label alone before a decision.
 * @param {string} label the call's status @param {ToolState["approval"]} approval
 */
export function withDecision(label, approval) {
  if (!approval || (approval.state !== "approved" && approval.state !== "denied")) return label;
  const by = DECIDED_BY[approval.decided_by || "user"] ?? "";
  const at = typeof approval.decided_at === "number"
    ? ` ${clockTime(new Date(approval.decided_at * 1000), true)}` : "";
  const verb = approval.state === "approved" && approval.answer ? "answered" : approval.state;
  return label === verb ? `${label} ${by}${at}` : `${label} · ${verb} ${by}${at}`;
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
  const server = approval.decided_by === "server";
  if (approval.state === "approved" && typeof approval.answer === "string" && !server) {
    return `Answered: ${visible(approval.answer)}`;
  }
  if (approval.state === "approved" || approval.state === "denied") {
    const verb = (approval.state === "approved" ? "Approved" : "Denied") +
      (DECIDERS[approval.decided_by || "user"] ?? "");
    return approval.decision_reason ? `${verb}: ${visible(approval.decision_reason)}` : verb;
  }
  if (!waiting) return "No decision was made: the run ended first.";
  if (sent !== null && typeof approval.question === "string") {
    return sent ? "Sending your answer…" : "Denying…";
  }
  if (sent !== null) return sent ? "Approving…" : "Denying…";
  return "Waiting for your decision.";
}
