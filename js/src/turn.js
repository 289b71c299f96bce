// @ts-check
/**
 * One turn of the chat: a head (the message that started the run, and Stop while it goes),
 * the run's parts as they stream, its error, follow-up chips and status line. Stop is in the
 * head, above the answer, so it stays where it was found while the answer grows under it,
 * and the head is pinned to the top of the visible page while the run goes (pin.js). A
 * turn reaches the rest of the widget only through its context.
 */
import { TERMINAL, answerText, sameRun } from "./state.js";
import { costText, costTitle, formatSeconds, statusLabel, statusText, tokenText, turnTime } from "./format.js";
import { button, childController, h, setText, spinner } from "./dom.js";
import { fitNotes, noteBox, setNote } from "./note.js";
import { ReasoningPartView, TextPartView, ToolCardView } from "./parts.js";
import { FollowupChips } from "./input.js";
import { placeHeadSoon } from "./pin.js";
import { PlanView } from "./plan.js";

export { tokenText };

/**
 * @typedef {import("./state.js").Turn} Turn
 * @typedef {import("./state.js").MetaState} MetaState
 * @typedef {import("./memory.js").Disclosure} Disclosure
 * @typedef {{
 *   signal: AbortSignal,
 *   kernelNow: () => number,
 *   copy: (text: string, feedback?: HTMLButtonElement) => void,
 *   onStop: (t: number) => void,
 *   onFollowup: (text: string) => void,
 *   onRetry: (t: number) => void,
 *   onVerdict: (t: number, value: boolean, comment: string | null) => void,
 *   onEdit: (t: number, text: string) => void,
 *   onUndoNotebook: (t: number) => void,
 *   onDecide: (t: number, callId: string, approved: boolean, reason: string | null,
 *     answer?: string, forRun?: boolean) => void,
 *   onReply: (t: number, callId: string, action: string,
 *     content: Record<string, unknown> | null) => void,
 *   renderMarkdown: (source: string) => DocumentFragment,
 *   remember: (key: string) => Disclosure,
 *   apps?: import("./mcp_app.js").AppChannel,
 * }} TurnContext
 */

/**
 * Characters of the message shown in the head. Its line clamp shows three lines, but the
 * browser lays out all of the text under it, again whenever Stop comes or goes: a pasted
 * 100 KB document there froze the page for 100 ms when the run started and when it ended.
 */
export const PROMPT_CHARS = 1000;

/** What the caption says of a turn the person started from the cell's controls. */
const STARTED_AS = /** @type {Record<string, string>} */ ({
  new: "new conversation", retry: "retry", edit: "edited", continue: "continued",
});

/** @param {string} message */
function clipPrompt(message) {
  return message.length > PROMPT_CHARS ? `${message.slice(0, PROMPT_CHARS - 1)}…` : message;
}

/**
 * `canRun`: this turn's chips may start the next run; `busy`: a run of the widget is going;
 * `asked`: the question of the turn after this one, if any (a chip with it was spent);
 * `canRetry`: this turn may be retried or edited (the last turn of a chat that can);
 * `retryNote`: said beside Retry and Edit before they are used, where they continue the
 * thread instead of forking it (empty where they fork); `canVerdict`: ✓ / ✗ and a note under
 * the finished answer, kept in the kernel as the run's score `verdict`; `askedBefore`: the
 * questions the conversation has asked, which this turn's chips leave out.
 * @typedef {{ canRun: boolean, busy: boolean, asked?: string | null, canRetry?: boolean,
 *   retryNote?: string, canVerdict?: boolean, askedBefore?: string[] }} FollowupMode
 */

const FORK_TITLE = "from the state before this turn: the answer it replaces is left out";

export class TurnView {
  /** @param {TurnContext} context @param {number} index */
  constructor(context, index) {
    this.context = context;
    this.index = index;
    // The turn's listeners go with it when another run takes its place, or the view stops.
    this.lifetime = childController(context.signal);
    const signal = this.lifetime.signal;
    this.el = h("section", "anb-turn");
    this.head = h("div", "anb-head");
    // The person's question, as legible as the answer and marked as theirs: "You → agent ·
    // time" over the message in a bubble of its own.
    this.prompt = h("div", "anb-prompt");
    const caption = h("div", "anb-caption");
    this.agent = h("span", "anb-agent");
    this.when = h("time", "anb-when");
    this.startedAs = h("span", "anb-started-as");
    caption.append(h("span", "anb-you", "You"), this.agent, this.when, this.startedAs);
    this.message = h("div", "anb-message");
    // What a message with `@` mentions went as (`@@` written `@`, the data block), closed.
    this.sent = h("details", "anb-sent");
    this.sent.append(h("summary", "", "As sent"));
    this.sentText = h("pre", "anb-sent-text");
    this.sent.append(this.sentText);
    this.sent.hidden = true;
    this.prompt.append(caption, this.message, this.sent);
    this.stop = button("Stop", "anb-stop", () => this.onStop(), { signal, title: "Stop the run" });
    this.head.append(this.prompt, this.stop);

    this.body = h("div", "anb-body");
    this.waiting = h("div", "anb-waiting");
    this.waiting.append(spinner(), h("span", "", "Thinking…"));
    this.waiting.hidden = true;

    this.errorBanner = h("div", "anb-error");
    this.errorBanner.setAttribute("role", "alert");
    this.errorBanner.hidden = true;

    this.chips = new FollowupChips({ signal, onFollowup: context.onFollowup, copy: context.copy });

    const footer = h("div", "anb-footer");
    this.statusLine = h("div", "anb-status");
    this.state = h("span", "anb-state");
    this.state.setAttribute("role", "status");
    this.elapsed = h("span", "anb-elapsed");
    this.ttft = h("span", "anb-ttft");
    this.tokens = h("span", "anb-tokens");
    this.tps = h("span", "anb-tps");
    this.cost = h("span", "anb-cost");
    this.runId = h("span", "anb-runid");
    this.statusLine.append(
      this.state, this.elapsed, this.ttft, this.tokens, this.tps, this.cost, this.runId);

    const actions = h("div", "anb-actions");
    this.copyAnswer = button("Copy answer", "anb-copy-answer", () => this.onCopyAnswer(),
      { signal, title: "Copy the answer as markdown" });
    this.retry = button("Retry", "anb-retry", () => context.onRetry(this.index),
      { signal, title: `Ask the last question again, ${FORK_TITLE}` });
    this.edit = button("Edit", "anb-edit", () => context.onEdit(this.index, this.turn?.meta.message || ""),
      { signal, title: `Edit the last question and send it again, ${FORK_TITLE}` });
    this.undoNotebook = button("Undo notebook changes", "anb-undo-notebook",
      () => context.onUndoNotebook(this.index),
      { signal, title: "Remove the cells this run added and restore those it edited" });
    this.retry.hidden = true;
    this.edit.hidden = true;
    this.undoNotebook.hidden = true;
    // Where Retry and Edit cannot fork the thread, the person is told before using them.
    this.retryNote = h("span", "anb-retry-note");
    this.retryNote.hidden = true;
    actions.append(this.retryNote, this.undoNotebook, this.retry, this.edit, this.copyAnswer);
    const verdict = this.makeVerdict(signal);
    this.verdict = verdict.group;
    this.thumbUp = verdict.up;
    this.thumbDown = verdict.down;
    this.verdictNote = verdict.note;
    /** The verdict last shown (see showVerdict). */
    this.shownVerdict = "";
    footer.append(this.statusLine, actions, this.verdict);

    this.plan = new PlanView();
    this.el.append(this.head, this.plan.el, this.body, this.waiting, this.errorBanner, this.chips.el,
      footer);
    /** The parts' listeners, dropped with them when the turn is sent whole again. */
    this.partsLifetime = childController(signal);
    /** @type {(TextPartView | ReasoningPartView | ToolCardView)[]} */
    this.partViews = [];
    /** @type {Map<string, ToolCardView>} */
    this.cards = new Map();
    this.stopRequested = false;
    /** @type {Turn | null} */
    this.turn = null;
    this.runIdShown = "";
  }

  /** Remove the turn's listeners (its DOM goes with its parent). */
  dispose() {
    this.lifetime.abort();
  }

  /**
   * Whether this view may go on drawing `turn`: the same run, so what the person has in it
   * (a note being typed, the keyboard, a selection, an open disclosure) stays.
   * @param {Turn} turn
   */
  shows(turn) {
    return this.turn === null || sameRun(this.turn, turn);
  }

  /**
   * @param {Turn} turn
   * @param {number} deadline
   * @param {FollowupMode} followups
   * @returns {boolean} true when everything dirty was drawn (else: continue next frame)
   */
  update(turn, deadline, followups) {
    // A different object: a snapshot, or the turn sent whole again (a step reset discarded
    // parts). The parts drawn stay where it only adds to them.
    if (this.turn !== null && turn !== this.turn && !this.grewInto(this.turn, turn)) {
      this.clearParts();
    }
    this.turn = turn;
    const grew = turn.parts.length > this.partViews.length;
    for (let i = this.partViews.length; i < turn.parts.length; i++) {
      this.addPart(turn, i);
    }
    /** @type {Set<number>} */
    const unfinished = new Set();
    for (const i of turn.dirtyParts) {
      const part = turn.parts[i];
      const view = this.partViews[i];
      if (part.kind === "tool" || !view || view instanceof ToolCardView) continue;
      if (!view.update(part.text, deadline)) unfinished.add(i);
    }
    for (const callId of turn.dirtyTools) {
      const call = turn.tools.get(callId);
      if (call) this.cardFor(turn, callId).update(call);
    }
    if (grew || turn.dirtyMeta) this.updatePhase(turn);
    if (turn.dirtyMeta) this.updateMeta(turn, followups);
    turn.dirtyParts = unfinished;
    turn.dirtyTools.clear();
    turn.dirtyMeta = false;
    return unfinished.size === 0;
  }

  /**
   * Whether `turn` has every part drawn from `drawn`, of the same kind and call, its text only
   * grown, and every call with a card, in the same place.
   * @param {Turn} drawn @param {Turn} turn
   */
  grewInto(drawn, turn) {
    const partsKept = this.partViews.every((_, i) => {
      const [was, now] = [drawn.parts[i], turn.parts[i]];
      return now !== undefined && now.kind === was.kind && now.call_id === was.call_id
        && now.text.startsWith(was.text);
    });
    const parent = (/** @type {Turn} */ of, /** @type {string} */ callId) =>
      of.placement.get(callId)?.parent ?? null;
    return partsKept && [...this.cards.keys()].every((callId) =>
      turn.tools.has(callId) && parent(turn, callId) === parent(drawn, callId));
  }

  clearParts() {
    this.partsLifetime.abort();
    this.partsLifetime = childController(this.lifetime.signal);
    this.body.replaceChildren();
    this.partViews = [];
    this.cards.clear();
  }

  /** @param {Turn} turn @param {number} i */
  addPart(turn, i) {
    const part = turn.parts[i];
    const { signal } = this.partsLifetime;
    /** @type {TextPartView | ReasoningPartView | ToolCardView} */
    let view;
    if (part.kind === "tool") {
      view = part.call_id ? this.cardFor(turn, part.call_id) : this.newCard(`part/${i}`);
    } else if (part.kind === "reasoning") {
      view = new ReasoningPartView({ signal, remembered: this.remember(`part/${i}`) });
    } else {
      const { renderMarkdown, copy } = this.context;
      view = new TextPartView({ renderMarkdown, copy, signal });
    }
    this.partViews[i] = view;
    // A call made inside another is drawn in its parent's card, never at the top.
    const nested = part.call_id ? turn.placement.get(part.call_id)?.parent : null;
    if (!nested) this.body.append(view.el);
  }

  /**
   * The card of a call, made on first use: a call made inside another is put in its parent's
   * card at once; a call at the top is put in the body by its part.
   * @param {Turn} turn @param {string} callId
   * @returns {ToolCardView}
   */
  cardFor(turn, callId) {
    const known = this.cards.get(callId);
    if (known) return known;
    const card = this.newCard(`tool/${callId}`);
    this.cards.set(callId, card);
    const placement = turn.placement.get(callId);
    card.setLevel(placement?.level ?? 0);
    const call = turn.tools.get(callId);
    if (call && placement?.parent) this.cardFor(turn, placement.parent).adopt(card, call);
    if (call) card.update(call);
    return card;
  }

  /** @param {string} key the card's memory */
  newCard(key) {
    /** @type {import("./approval.js").Decide} */
    const decide = (callId, approved, reason, answer, forRun) =>
      this.context.onDecide(this.index, callId, approved, reason, answer, forRun);
    return new ToolCardView({
      signal: this.partsLifetime.signal,
      remembered: this.remember(key),
      subAgent: this.remember(`${key}/agent`),
      card: this.remember(`${key}/card`),
      decide,
      apps: this.context.apps,
      reply: (callId, action, content) => this.context.onReply(this.index, callId, action, content),
    });
  }

  /**
   * The remembered state of one of this turn's disclosures (call ids are unique per run, so
   * the turn index is part of the key).
   * @param {string} key
   */
  remember(key) {
    return this.context.remember(`${this.index}/${key}`);
  }

  /** @param {Turn} turn */
  updatePhase(turn) {
    const running = !TERMINAL.has(turn.meta.status || "pending");
    let answerAfter = false;
    for (let i = turn.parts.length - 1; i >= 0; i--) {
      const view = this.partViews[i];
      if (turn.parts[i].kind === "text") answerAfter = true;
      if (view instanceof ReasoningPartView) {
        view.setPhase(running && i === turn.parts.length - 1, answerAfter);
      }
    }
    this.waiting.hidden = !(running && turn.parts.length === 0);
  }

  /** @param {Turn} turn @param {FollowupMode} followups */
  updateMeta(turn, followups) {
    const meta = turn.meta;
    const status = meta.status || "pending";
    const running = !TERMINAL.has(status);
    this.el.dataset.status = status;
    setText(this.agent, meta.agent || "");
    this.updateWhen(meta.started_at);
    this.el.dataset.startedAs = meta.started_as || "";
    setText(this.startedAs, STARTED_AS[meta.started_as || ""] || "");
    // Rewritten only when it changed: a new text node is laid out again.
    const message = clipPrompt(meta.message || "");
    if (this.message.textContent !== message) this.message.textContent = message;
    const sent = meta.sent || "";
    if (this.sentText.textContent !== sent) this.sentText.textContent = sent;
    this.sent.hidden = !sent;
    this.prompt.hidden = !meta.agent && !meta.message;

    this.state.dataset.status = status;
    setText(this.state,
      this.stopRequested && running ? "Stopping…" : statusText(status, meta.cut_note));
    this.updateElapsed();
    setText(this.ttft,
      meta.ttft !== null && meta.ttft !== undefined ? `first token ${formatSeconds(meta.ttft)}` : "");
    setText(this.tokens, tokenText(meta.usage));
    setText(this.tps, meta.tokens_per_second ? `${meta.tokens_per_second.toFixed(1)} tok/s` : "");
    setText(this.cost, costText(meta));
    this.cost.title = costTitle(meta);
    this.updateRunId(meta.run_id || "");

    this.stop.hidden = !running;
    this.stop.disabled = this.stopRequested;
    this.head.hidden = this.prompt.hidden && !running;
    this.copyAnswer.hidden = running || answerText(turn).trim() === "";
    const again = Boolean(followups.canRetry) && !running && !followups.busy;
    this.retry.hidden = !again;
    this.edit.hidden = !again || !meta.message;
    this.undoNotebook.hidden = running || !changedTheNotebook(turn);
    this.updateRetryNote(again, followups.retryNote || "");
    this.verdict.hidden = !followups.canVerdict || running || !TERMINAL.has(status);
    this.showVerdict(meta.verdict || null);
    this.updateError(meta, status);
    this.plan.update(meta.plan);
    const askedBefore = followups.askedBefore || [];
    const offered = (meta.followups || []).filter((q) => !askedBefore.includes(q.trim()));
    this.chips.update(offered, {
      canRun: followups.canRun,
      disabled: followups.canRun && (running || followups.busy),
      asked: followups.asked,
    });
  }

  /**
   * ✓ / ✗ and a note: a person's quick verdict on the finished answer.
   * @param {AbortSignal} signal
   */
  makeVerdict(signal) {
    const group = h("div", "anb-verdict");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Your verdict on this answer");
    const { fit, note } = noteBox("anb-verdict-note", "note (optional)", "");
    fitNotes(group, signal);
    const give = (/** @type {boolean} */ value) => () =>
      this.context.onVerdict(this.index, value, note.value.trim() || null);
    const up = button("✓", "anb-verdict-up", give(true),
      { signal, title: "A good answer: kept as this run's score verdict = True" });
    const down = button("✗", "anb-verdict-down", give(false),
      { signal, title: "A bad answer: kept as this run's score verdict = False" });
    for (const thumb of [up, down]) thumb.setAttribute("aria-pressed", "false");
    group.append(up, down, fit);
    group.hidden = true;
    return { group, up, down, note };
  }

  /**
   * The verdict kept for the run, by this view or any other (the runs table, code): shown
   * when it changes, so a note being typed is left alone until one is kept.
   * @param {{ value: boolean, comment: string | null } | null} kept
   */
  showVerdict(kept) {
    const key = kept ? JSON.stringify([kept.value, kept.comment]) : "";
    if (key === this.shownVerdict) return;
    this.shownVerdict = key;
    if (!kept) return;
    this.thumbUp.setAttribute("aria-pressed", String(kept.value));
    this.thumbDown.setAttribute("aria-pressed", String(!kept.value));
    if (this.verdictNote.value.trim() !== (kept.comment || "")) setNote(this.verdictNote, kept.comment || "");
  }

  /** @param {boolean} shown Retry is offered @param {string} note empty where it forks */
  updateRetryNote(shown, note) {
    this.retryNote.hidden = !shown || !note;
    if (this.retryNote.textContent !== note) this.retryNote.textContent = note;
    this.retry.title = note ? `Ask the last question again. ${note}`
      : `Ask the last question again, ${FORK_TITLE}`;
    this.edit.title = note ? `Edit the last question and send it again. ${note}`
      : `Edit the last question and send it again, ${FORK_TITLE}`;
  }

  /** @param {number | null | undefined} startedAt */
  updateWhen(startedAt) {
    if (typeof startedAt !== "number") {
      this.when.hidden = true;
      return;
    }
    const { short, full, iso } = turnTime(startedAt);
    this.when.hidden = false;
    setText(this.when, short);
    this.when.dateTime = iso;
    this.when.title = full;
  }

  updateElapsed() {
    const meta = this.turn?.meta;
    if (!meta) return;
    const running = !TERMINAL.has(meta.status || "pending");
    let seconds = meta.duration ?? null;
    if (running && typeof meta.started_at === "number") {
      // the agent's time: a wait for a person is left out, and the clock stands still in one
      const end = meta.paused_at ?? this.context.kernelNow();
      seconds = Math.max(0, end - meta.started_at - (meta.paused_seconds ?? 0));
    }
    setText(this.elapsed, seconds !== null ? formatSeconds(seconds) : "");
  }

  /** @param {string} runId */
  updateRunId(runId) {
    if (runId === this.runIdShown) return;
    this.runIdShown = runId;
    if (!runId) {
      this.runId.replaceChildren();
      return;
    }
    const code = h("code", "", runId);
    const copy = button("Copy", "anb-copy-id", () => this.context.copy(runId, copy),
      { signal: this.lifetime.signal, title: "Copy the run id" });
    this.runId.replaceChildren("run ", code, copy);
  }

  /** @param {MetaState} meta @param {string} status */
  updateError(meta, status) {
    const error = meta.error;
    const show = Boolean(error) && (status === "failed" || status === "interrupted");
    this.errorBanner.hidden = !show;
    if (!show || !error) {
      this.errorBanner.replaceChildren();
      return;
    }
    const title = h("strong", "anb-error-code", error.code || statusLabel(status));
    const message = h("span", "anb-error-message", error.message || "");
    const parts = [message, title];  // what the platform said first, then the error's name
    if (typeof error.retry_after === "number") {
      parts.push(h("span", "anb-error-retry", `Retry after ${formatSeconds(error.retry_after)}.`));
    }
    this.errorBanner.replaceChildren(...parts);
  }

  /** Keep the head, with Stop, in reach while the run goes (see pin.js). */
  pin() {
    const status = this.turn?.meta.status || "pending";
    placeHeadSoon(this.el, this.head, !TERMINAL.has(status));
  }

  onStop() {
    this.stopRequested = true;
    this.stop.disabled = true;
    this.state.textContent = "Stopping…";
    this.context.onStop(this.index);
  }

  onCopyAnswer() {
    if (this.turn) this.context.copy(answerText(this.turn), this.copyAnswer);
  }

  /** @param {number} now */
  tick(now) {
    this.updateElapsed();
    for (const card of this.cards.values()) card.tick(now);
  }
}

/** Whether `turn`'s run added or edited a cell of the notebook (its notebook tools). */
const NOTEBOOK_WRITES = /(^|__|\/)notebook_(add|edit)_cell$/;
/** @param {Turn} turn */
function changedTheNotebook(turn) {
  return [...turn.tools.values()].some(
    (call) => call.status === "succeeded" && NOTEBOOK_WRITES.test(call.name));
}
