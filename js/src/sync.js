// @ts-check
/**
 * The view's half of the protocol. The kernel numbers its frames; this side applies each
 * frame once, in order:
 *   - snapshot {seq, state}: replaces the state when newer than what the view holds;
 *   - delta {seq, ops}: applied when seq is the next one, ignored when already applied,
 *     and on a gap (a frame lost, or the view started late) the view asks for a resync;
 *   - current {seq}: the answer to a view that holds every frame (nothing to apply).
 * A view that starts from a transcript with a turn still running says hello if the kernel
 * sends it nothing for a while (the next frame of a run that streams is what it needs: applied,
 * or a gap that asks for a resync; a page drawing fifty cells at once sends no fifty hellos);
 * one whose turns have all ended holds the last frame (the kernel writes the transcript with
 * it) and asks for nothing. Until an answer arrives, gaps are expected and do not trigger more
 * requests. A request that goes unanswered is repeated (bounded), late enough that a page busy
 * drawing many cells is not sent its answer twice. A hello or a resync names the view (the
 * kernel counts the views that exist: chat.js, `reportSeen`).
 */
import { TranscriptState } from "./state.js";

/**
 * @typedef {{
 *   get(name: string): any,
 *   send(content: any): void,
 *   on(event: string, cb: (...args: any[]) => void): void,
 *   off(event: string, cb: (...args: any[]) => void): void,
 * }} WidgetModel
 * @typedef {{ kind: "snapshot", seq: number, now?: number, state: import("./state.js").TranscriptWire }
 *   | { kind: "delta", seq: number, now?: number, ops: import("./state.js").Op[] }
 *   | { kind: "current", seq: number, now?: number }
 *   | { kind: "notice", text: string }} KernelMessage
 * @typedef {"snapshot" | "delta" | "notice" | "ignored"} ChangeKind
 */

const RETRY_MS = [3000, 6000, 12000];
/** How long a view of a running turn waits for a frame before it says hello. */
export const HELLO_AFTER_MS = 2000;

export class SyncClient {
  /**
   * @param {WidgetModel} model
   * @param {(why: ChangeKind, message?: string) => void} onChange  called for every kernel
   *   frame, "ignored" when it changed nothing (already applied, or after a gap)
   * @param {string} [view]  the view's name, said with each hello and resync
   */
  constructor(model, onChange, view) {
    this.model = model;
    this.onChange = onChange;
    this.view = view;
    this.state = new TranscriptState();
    /** Kernel clock minus browser clock, in seconds (kept from the last frame's `now`). */
    this.clockOffset = 0;
    this.awaitingSnapshot = false;
    this.retries = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.helloTimer = null;
    this.framesApplied = 0;
    this.framesIgnored = 0;
    this.resyncRequests = 0;
    this.listening = false;
    this.onMessage = this.onMessage.bind(this);
    this.onTranscript = this.onTranscript.bind(this);
  }

  start() {
    this.listening = true;
    this.onTranscript();
    this.model.on("msg:custom", this.onMessage);
    this.model.on("change:transcript", this.onTranscript);
    if (this.state.seq < 0) {
      this.request("hello");
    } else if (this.state.running) {
      this.helloTimer = setTimeout(() => {
        this.helloTimer = null;
        if (this.listening) this.request("hello");
      }, HELLO_AFTER_MS);
    }
  }

  stop() {
    this.listening = false;
    this.model.off("msg:custom", this.onMessage);
    this.model.off("change:transcript", this.onTranscript);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.heard();
  }

  /** A frame came: the view needs no hello (it is current, or a gap asks for a resync). */
  heard() {
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }

  /** Synced state: the structured transcript the kernel writes at tool boundaries and ends. */
  onTranscript() {
    const transcript = this.model.get("transcript");
    if (!transcript || typeof transcript.seq !== "number") return;
    if (transcript.seq > this.state.seq) {
      if (this.listening) this.heard();
      this.state.reset(transcript, transcript.seq);
      this.onChange("snapshot");
    }
  }

  /** @param {KernelMessage} msg */
  onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind !== "notice") this.heard();
    if ("now" in msg && typeof msg.now === "number") {
      this.clockOffset = msg.now - Date.now() / 1000;
    }
    if (msg.kind === "snapshot") {
      this.settle();
      if (msg.seq > this.state.seq) {
        this.state.reset(msg.state, msg.seq);
        this.framesApplied += 1;
        this.onChange("snapshot");
      } else {
        this.ignore();
      }
    } else if (msg.kind === "current") {
      this.settle();
      if (msg.seq > this.state.seq && this.listening) this.request("resync");
    } else if (msg.kind === "delta") {
      this.onDelta(msg.seq, msg.ops);
    } else if (msg.kind === "notice") {
      this.onChange("notice", msg.text);
    }
  }

  /** @param {number} seq @param {import("./state.js").Op[]} ops */
  onDelta(seq, ops) {
    if (seq <= this.state.seq) {
      this.ignore();
      return;
    }
    if (seq !== this.state.seq + 1 || this.state.seq < 0) {
      this.ignore();
      if (this.listening && !this.awaitingSnapshot) this.request("resync");
      return;
    }
    try {
      this.state.applyDelta(ops, seq);
    } catch (err) {
      console.error(err);
      this.request("resync");
      return;
    }
    this.framesApplied += 1;
    this.onChange("delta");
  }

  /** @param {"hello" | "resync"} kind */
  request(kind) {
    this.awaitingSnapshot = true;
    if (kind === "resync") this.resyncRequests += 1;
    this.model.send({ kind, have: this.state.seq, ...(this.view ? { view: this.view } : {}) });
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    // A finished transcript from saved state needs no kernel; stop asking after a few tries.
    if (this.retries >= RETRY_MS.length) return;
    const delay = RETRY_MS[this.retries];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.awaitingSnapshot) return;
      if (this.state.seq >= 0 && !this.state.running) return;
      this.retries += 1;
      this.request("resync");
    }, delay);
  }

  ignore() {
    this.framesIgnored += 1;
    this.onChange("ignored");
  }

  settle() {
    this.awaitingSnapshot = false;
    this.retries = 0;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Kernel time now, in seconds (for elapsed time of a running turn). */
  kernelNow() {
    return Date.now() / 1000 + this.clockOffset;
  }
}
