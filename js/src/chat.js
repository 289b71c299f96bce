// @ts-check
/**
 * The chat cell's root view. A view owns one SyncClient (its own copy of the transcript) and
 * redraws on animation frames only what the applied frames marked dirty: the block of the
 * answer being written, the reasoning text appended, a tool card, the status line.
 * Agent-provided strings reach the DOM only as text nodes, except the answer's markdown,
 * which goes through markdown.js (raw HTML off, DOMPurify).
 *
 * A view tells the kernel that it exists, whether it is on screen, and that it is gone
 * (`reportSeen`, `stop`): a cell no view draws gets no frames, one whose views are all out of
 * sight a frame a second.
 *
 * The notebook may replace a view without cleaning it up (see memory.js): a view that finds
 * a newer view of its widget has taken its place stops itself, and every view restores the
 * user's UI state (draft, expanded outputs) from the widget's memory.
 */
import { renderMarkdown } from "./markdown.js";
import { SyncClient } from "./sync.js";
import { copyToClipboard, flash, h, keepKeys } from "./dom.js";
import { memoryFor, rememberUnder } from "./memory.js";
import { TurnView } from "./turn.js";
import { conversationTotal } from "./format.js";
import { AttachmentChips } from "./attachments.js";
import { ChatInput, ContinueControl } from "./input.js";
import { SessionBar, SlashMenu } from "./controls.js";
import { PastedImages } from "./pasted.js";
import { HIDDEN_EVERY_MS, frameDeadline, onSharedFrame, watchVisibility } from "./visibility.js";
import { AppChannel } from "./mcp_app.js";

/** Milliseconds of markdown rendering per animation frame before yielding to the page. */
export const FRAME_BUDGET_MS = 12;

const TICK_MS = 250;

let viewsMade = 0;
/** A name for a view the kernel tells apart from the other views of its cell (the views it
 * counts, and which of them are seen). */
function viewName() {
  viewsMade += 1;
  return `${viewsMade.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * @typedef {import("./sync.js").WidgetModel} WidgetModel
 * @typedef {import("./turn.js").TurnContext} TurnContext
 * @typedef {{ can_followup?: boolean, input?: boolean, placeholder?: string,
 *   can_retry?: boolean, can_reset?: boolean, retry_note?: string, can_verdict?: boolean,
 *   can_continue?: boolean, continue_note?: string, can_attach?: boolean, can_paste?: boolean,
 *   session?: import("./controls.js").SessionState | null }} Options
 * @typedef {{
 *   schedule?: (cb: () => void, key?: unknown) => () => void,
 *   copy?: (text: string) => Promise<void>,
 *   frameBudgetMs?: number,
 * }} ViewHooks
 */

export class ChatView {
  /**
   * @param {HTMLElement} el
   * @param {WidgetModel} model
   * @param {ViewHooks} [hooks]
   */
  constructor(el, model, hooks = {}) {
    this.el = el;
    this.model = model;
    // one animation frame shared by every cell on the page (see visibility.js)
    this.schedule = hooks.schedule || onSharedFrame;
    this.copyImpl = hooks.copy || copyToClipboard;
    this.frameBudgetMs = hooks.frameBudgetMs ?? FRAME_BUDGET_MS;
    /** Aborted when the view stops: every DOM listener of the view goes with it. */
    this.lifetime = new AbortController();
    this.name = viewName();
    this.sync = new SyncClient(model, (why, text) => this.onSync(why, text), this.name);
    /** @type {Options} */
    this.options = model.get("options") || {};
    this.memory = memoryFor(this.options);
    this.root = h("div", "agentnb anb-root");
    keepKeys(this.root, this.lifetime.signal);
    this.turnsEl = h("div", "anb-turns");
    this.notice = h("div", "anb-notice");
    this.notice.hidden = true;
    this.conversation = h("div", "anb-conversation");
    this.conversation.hidden = true;
    this.continuing = new ContinueControl(this.lifetime.signal, () => this.requestContinue());
    this.root.append(this.turnsEl, this.conversation, this.notice, this.continuing.el);
    /** @type {TurnView[]} */
    this.turnViews = [];
    /** @type {(() => void) | null} */
    this.cancelFrame = null;
    /** @type {MutationObserver | null} */
    this.themes = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.ticker = null;
    /** @type {ChatInput | null} */
    this.chatInput = null;
    /** Images pasted into the input, sent with the next message. @type {PastedImages | null} */
    this.pasted = null;
    /** The agent session's settings beside the input, and its `/` commands. @type {SessionBar | null} */
    this.sessionBar = null;
    /** @type {SlashMenu | null} */
    this.slashMenu = null;
    /** Seen on the page at least once (see LiveViews.isReplaced). */
    this.attachedOnce = false;
    /** On screen or near it (visibility.js): off it, the view redraws seldom, ticks no clock. */
    this.seen = true;
    /** What the kernel was last told of this view's being on screen; null: nothing yet, so
     * the first visibility callback always reports (see `reportSeen`). @type {boolean | null} */
    this.toldSeen = null;
    /** @type {(() => void) | null} */
    this.unwatch = null;
    this.stopped = false;
    this.onOptions = this.onOptions.bind(this);
    this.turnContext = this.makeTurnContext();
    this.buildInput();
    this.continuing.update(this.options);
    this.updateSession();
    el.append(this.root);
  }

  /** @returns {TurnContext} */
  makeTurnContext() {
    return {
      signal: this.lifetime.signal,
      kernelNow: () => this.sync.kernelNow(),
      copy: (text, feedback) => this.copy(text, feedback),
      onStop: (t) => this.send({ kind: "stop", t }),
      onFollowup: (text) => this.send({ kind: "followup", text }),
      onRetry: (t) => this.send({ kind: "retry", t }),
      onUndoNotebook: (t) => this.send({ kind: "undo_notebook", t }),
      onVerdict: (t, value, comment) => this.send({ kind: "verdict", t, value, comment }),
      onEdit: (t, text) => this.chatInput?.edit(t, text),
      onDecide: (t, callId, approved, reason, answer, forRun) =>
        this.send(answer !== undefined
          ? { kind: "answer", t, call_id: callId, text: answer }
          : forRun
            ? { kind: "approve", t, call_id: callId, reason, for_run: true }
            : { kind: approved ? "approve" : "deny", t, call_id: callId, reason }),
      onReply: (t, callId, action, content) =>
        this.send({ kind: "reply", t, call_id: callId, action, content }),
      renderMarkdown,
      remember: (key) => this.memory.disclosure(key),
      apps: new AppChannel(this.model),
    };
  }

  start() {
    this.noteAttachment();
    this.memory.views.add(this);
    this.model.on("change:options", this.onOptions);
    // Scroll events do not bubble: caught on the way down, from whatever scrolls the page.
    document.addEventListener("scroll", () => this.requestPin(),
      { capture: true, passive: true, signal: this.lifetime.signal });
    // A theme switched while a head is pinned (JupyterLab marks the theme on <body>): its
    // colour is read again.
    this.themes = new MutationObserver(() => this.requestPin());
    this.themes.observe(document.body, { attributes: true });
    this.sync.start();
    this.renderNow();
    this.unwatch = watchVisibility(this.root, (seen) => {
      this.reportSeen(seen);
      this.onSeen(seen);
    });
    this.chatInput?.restoreFocus();
  }

  /** Remove every listener and timer; the DOM stays (the notebook owns `el`). */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.memory.views.delete(this);
    this.tellKernel({ kind: "gone", view: this.name }, "that this view is gone");
    this.sync.stop();
    this.model.off("change:options", this.onOptions);
    if (this.cancelFrame) this.cancelFrame();
    this.cancelFrame = null;
    this.chatInput?.dispose();
    this.setTicking(false);
    this.unwatch?.();
    this.themes?.disconnect();
    for (const view of this.turnViews) view.dispose();
    this.lifetime.abort();
  }

  /** The cleanup anywidget calls: stop, and take the view off the page. */
  destroy() {
    this.stop();
    this.root.remove();
  }

  noteAttachment() {
    if (this.root.isConnected) this.attachedOnce = true;
  }

  /** Stop if a newer view of the widget took this one's place; true when it did. */
  retireIfReplaced() {
    if (!this.memory.views.isReplaced(this)) return false;
    this.stop();
    return true;
  }

  onOptions() {
    if (this.retireIfReplaced()) return;
    this.options = this.model.get("options") || {};
    rememberUnder(this.options, this.memory);
    const hadInput = this.chatInput !== null;
    this.buildInput();
    this.continuing.update(this.options);
    this.updateSession();
    // the box a click on "Continue this conversation" asked for gets the keyboard
    if (!hadInput && this.chatInput && this.continuing.requested) this.chatInput.input.focus();
    for (const turn of this.sync.state.turns) turn.dirtyMeta = true;
    this.requestRender();
  }

  /** @param {import("./sync.js").ChangeKind} why @param {string} [text] */
  onSync(why, text) {
    if (this.retireIfReplaced() || why === "ignored") return;
    if (why === "notice") {
      this.notice.hidden = !text;
      this.notice.textContent = text || "";
      return;
    }
    this.requestRender();
  }

  requestRender() {
    if (this.cancelFrame || this.stopped) return;
    if (!this.seen) {
      // off screen: drawn once a while, at a shared frame (catches up when seen again)
      const timer = setTimeout(() => {
        this.cancelFrame = null;
        this.drawAtFrame();
      }, HIDDEN_EVERY_MS);
      this.cancelFrame = () => clearTimeout(timer);
      return;
    }
    this.drawAtFrame();
  }

  drawAtFrame() {
    if (this.cancelFrame || this.stopped) return;
    this.cancelFrame = this.schedule(() => {
      this.cancelFrame = null;
      if (!this.retireIfReplaced()) this.renderNow();
    }, this);
  }

  /**
   * Tell the kernel this view exists and whether it is on screen (or near it): the first
   * visibility callback (an IntersectionObserver's comes once on `observe`) always reports,
   * later ones when that changes; `stop()` says the view is gone. The kernel sends a cell
   * with no view no frame at all (behind JupyterLab's "Show more outputs", nothing draws
   * it), one none of whose views is seen a frame a second (its `UNSEEN_INTERVAL`), and a view
   * that appears, or comes into sight, what it lacks at once. A view the notebook took off
   * the page (windowing) is out of sight, not gone.
   * @param {boolean} seen
   */
  reportSeen(seen) {
    if (this.stopped || seen === this.toldSeen) return;
    this.toldSeen = seen;
    this.tellKernel({ kind: "seen", view: this.name, seen }, "this view's visibility");
  }

  /** @param {Record<string, unknown>} content @param {string} what */
  tellKernel(content, what) {
    try {
      this.model.send(content);
    } catch (err) {
      console.warn(`agentnb: could not tell the kernel ${what}`, err);
    }
  }

  /** Scrolled into view or out of it: seen again, it catches up at the next frame. */
  /** @param {boolean} seen */
  onSeen(seen) {
    // not yet on the page (a view is drawn before the notebook attaches it): no reason to wait
    if (!seen && !this.root.isConnected) return;
    if (this.stopped || seen === this.seen) return;
    this.seen = seen;
    this.root.dataset.seen = String(seen); // its spinners stand still out of sight (widget.css)
    if (!seen) {
      this.setTicking(false);
      return;
    }
    if (this.cancelFrame) this.cancelFrame(); // a slow redraw waiting: at once instead
    this.cancelFrame = null;
    this.drawAtFrame();
    this.tick();
  }

  renderNow() {
    this.noteAttachment();
    const state = this.sync.state;
    const recounted = state.turns.length !== this.turnViews.length;
    this.matchTurnViews(state.turns);
    // Only the last turn's chips may start a run: a new turn changes every turn's chips.
    if (recounted) for (const turn of state.turns) turn.dirtyMeta = true;
    const deadline = frameDeadline(this.frameBudgetMs);
    const canFollowup = this.options.can_followup === true;
    const last = state.turns.length - 1;
    const busy = state.running;
    // The last turn's chips leave out what this conversation has asked already.
    const askedSoFar = state.turns.map((turn) => (turn.meta.message || "").trim());
    let finished = true;
    state.turns.forEach((turn, t) => {
      const asked = state.turns[t + 1]?.meta.message ?? null;
      const canRetry = this.options.can_retry === true && t === last;
      const retryNote = this.options.retry_note || "";
      const canVerdict = this.options.can_verdict === true;
      const followups = {
        canRun: canFollowup && t === last, busy, asked, canRetry, retryNote, canVerdict,
        askedBefore: t === last ? askedSoFar : [],
      };
      if (!this.turnViews[t].update(turn, deadline, followups)) finished = false;
    });
    // The rest of a redraw the frame cut short goes on at the next shared frame, on screen or
    // off: only new data waits while a cell is out of sight (requestRender), or a long
    // answer of a cell off screen would be drawn a block a second.
    if (!finished) this.drawAtFrame();
    this.updateConversation(state.turns);
    this.root.dataset.running = String(busy);
    this.chatInput?.setBusy(busy);
    this.setTicking(busy && this.seen);
    if (this.seen) this.pinHeads();
  }

  /**
   * One view per turn: the view of each turn still showing the same run is kept (a snapshot
   * patches it), another run's is drawn anew, and the views past the last turn go.
   * @param {import("./state.js").Turn[]} turns
   */
  matchTurnViews(turns) {
    turns.forEach((turn, t) => {
      const kept = this.turnViews[t];
      if (kept?.shows(turn)) return;
      const view = new TurnView(this.turnContext, t);
      if (kept) {
        kept.dispose();
        kept.el.replaceWith(view.el);
      } else {
        this.turnsEl.append(view.el);
      }
      this.turnViews[t] = view;
    });
    for (const gone of this.turnViews.splice(turns.length)) {
      gone.dispose();
      gone.el.remove();
    }
  }

  /** After a scroll: place the running turns' heads where they are seen (at the next frame,
   * with every other cell's: see pin.js). */
  requestPin() {
    if (this.stopped || !this.seen || !this.sync.state.running) return;
    this.pinHeads();
  }

  pinHeads() {
    for (const view of this.turnViews) view.pin();
  }

  /**
   * The conversation's running total under its turns, once it has more than one.
   * @param {import("./state.js").Turn[]} turns
   */
  updateConversation(turns) {
    const text = conversationTotal(turns.map((turn) => turn.meta));
    if (this.conversation.textContent !== text) this.conversation.textContent = text;
    this.conversation.hidden = text === "";
  }

  /** @param {boolean} on */
  setTicking(on) {
    if (on && this.ticker === null && !this.stopped) {
      this.ticker = setInterval(() => this.tick(), TICK_MS);
    } else if (!on && this.ticker !== null) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  tick() {
    if (this.retireIfReplaced()) return;
    const now = this.sync.kernelNow();
    for (const view of this.turnViews) view.tick(now);
  }

  requestContinue() {
    this.send({ kind: "continue" });
  }

  buildInput() {
    if (this.options.input !== true) {
      this.chatInput?.remove();
      this.chatInput = null;
      this.sessionBar = this.slashMenu = this.pasted = null;
      return;
    }
    if (this.chatInput) return;
    const signal = this.lifetime.signal;
    this.sessionBar = new SessionBar({ signal, onChoose: (id, value) => this.send({ kind: "config", id, value }) });
    this.chatInput = new ChatInput({
      assist: (input) => (this.slashMenu = new SlashMenu({ signal, input })),
      beside: this.sessionBar.el,
      signal: this.lifetime.signal,
      memory: this.memory,
      placeholder: this.options.placeholder,
      onSubmit: (text, editing, detach) => this.submit(text, editing, detach),
      onNew: this.options.can_reset === true ? () => this.send({ kind: "new" }) : null,
      schedule: this.schedule,
      attachments: this.options.can_attach === true
        ? new AttachmentChips({ signal: this.lifetime.signal, model: this.model })
        : null,
    });
    this.pasted = this.options.can_paste === true
      ? new PastedImages({ signal: this.lifetime.signal, input: this.chatInput.input })
      : null;
    if (this.pasted) this.chatInput.el.prepend(this.pasted.el);
    this.root.append(this.chatInput.el);
  }

  /** The agent session's settings and commands, as the kernel last sent them. */
  updateSession() {
    this.sessionBar?.update(this.options.session);
    this.slashMenu?.setCommands(this.options.session);
  }

  /**
   * @param {string} text @param {number | null} editing  the turn whose question this edits
   * @param {string[]} [detach]  the mentions sent without their attachments
   * @returns {boolean} whether it was sent
   */
  submit(text, editing, detach = []) {
    if (this.sync.state.running) return false;
    const removed = detach.length > 0 ? { detach } : {};
    const images = editing === null ? this.pasted?.take() ?? [] : [];
    this.send(editing === null
      ? { kind: "send", text, ...removed, ...(images.length > 0 ? { images } : {}) }
      : { kind: "edit", t: editing, text, ...removed });
    return true;
  }

  /** @param {Record<string, unknown>} content */
  send(content) {
    this.notice.hidden = true;
    this.model.send(content);
  }

  /** @param {string} text @param {HTMLButtonElement} [feedback] */
  copy(text, feedback) {
    this.copyImpl(text).then(
      () => flash(feedback, "Copied"),
      () => flash(feedback, "Copy failed"),
    );
  }
}
