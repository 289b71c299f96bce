// @ts-check
/**
 * One view's copy of the widget's transcript, kept in step with the kernel by the protocol:
 * a snapshot replaces it, numbered deltas extend it. Every change marks what the view must
 * redraw, so a frame touches only what changed; a snapshot marks everything, and the view
 * patches what it drew of the same runs (see sameRun).
 */

/**
 * @typedef {"reasoning" | "text" | "tool"} PartKind
 * @typedef {{ kind: PartKind, text: string, call_id: string | null }} PartState
 * @typedef {{
 *   state: "awaiting" | "approved" | "denied", reason?: string | null,
 *   decision_reason?: string | null, question?: string | null, answer?: string | null,
 *   decided_by?: "user" | "policy" | "server" | null, decided_at?: number | null,
 *   shown?: ShownCallState | null, for_run?: string | null, agent_option?: string | null,
 * }} ApprovalState  a human's decision on a call the platform runs only once approved;
 *   for_run: what approving it for the rest of the run allows (the reads of the notebook);
 *   agent_option: the agent's own words for that choice, where the agent decides what it
 *   covers (an ACP agent's "always");
 *   decided_by: who decided (the server's own decision is never the user's), decided_at: when
 * @typedef {{
 *   name: string, name_is_plain: boolean, arguments: [string, string, number][],
 *   whole: [string, string][], warnings: string[], others?: OtherVersionState[],
 *   protocol_error?: string | null, diff?: string[], aside?: string[], head?: string,
 *   sends?: string[],
 * }} ShownCallState  the call as a person deciding sees it (Python's shown_call): every
 *   argument as [key, value, hidden chars], made visible and clipped, but the keys aside
 *   (a dialect's bookkeeping); whole: every key, none clipped;
 *   others: the platform's other versions of the call that disagree with it; protocol_error:
 *   why agentnb denies it whatever is answered; diff: the lines of the diff it writes;
 *   head: the approval's reason where it heads the call, its lines made visible (empty where
 *   it only repeats a value shown; its first line where sends or diff follow);
 *   sends: what a read of the notebook sends, the reason's lines under the first
 * @typedef {{
 *   where: string, name: string, arguments: [string, string, number][],
 *   whole: [string, string][],
 * }} OtherVersionState  another version of a call the platform sent (where: which event)
 * @typedef {{
 *   call_id: string, name: string, arguments?: unknown, arguments_text?: string,
 *   output?: unknown, output_chars?: number, output_truncated?: boolean,
 *   error?: string | null, status: string, duration?: number | null,
 *   started_at?: number | null, finished_at?: number | null,
 *   approval?: ApprovalState | null, parent_call_id?: string | null, agent?: string | null, sub_agent?: string | null,
 *   depth?: number, usage?: UsageState | null, agent_text?: string, agent_reasoning?: string,
 *   unapproved?: string | null, model?: string | null, cost?: number | null,
 *   cost_source?: string | null, cost_reason?: string | null, ran_by?: string | null,
 *   shown?: ShownState | null, asks?: import("./question.js").QuestionState | null,
 * }} ToolState  status: running | awaiting_approval | succeeded | failed | denied | no_result;
 *   parent_call_id: the call a sub-agent made this one in; agent: who made it; sub_agent: the
 *   agent that ran inside it, where named; agent_text /
 *   agent_reasoning: what a sub-agent streamed inside this call; unapproved: why it ran
 *   without the user's approval; model and cost: what a sub-agent's model spent inside
 *   it, where the platform says (as a run's); ran_by: "client" when a notebook function ran it;
 *   shown: what that function returned as a person sees it in the notebook (a figure, a table);
 *   asks: the question the running call asks the person (question.js), until answered
 * @typedef {{ mime: string, data: string }} ShownState  a notebook function's result as shown:
 *   `image/png` / `image/jpeg` (base64), `image/svg+xml`, `text/html` (sanitized here) or
 *   `text/plain` (a form too large to show, said in words)
 * @typedef {{ parent: string | null, level: number }} Placement  where a call is drawn: inside
 *   `parent` (null: at the top, where its part is), `level` calls deep
 * @typedef {{ message?: string, code?: string | null, retry_after?: number | null }} ErrorState
 * @typedef {{ prompt_tokens?: number | null, completion_tokens?: number | null,
 *   total_tokens?: number | null, cached_tokens?: number | null,
 *   reasoning_tokens?: number | null, cost?: number | null }} UsageState
 * @typedef {{
 *   status?: string, agent?: string, message?: string, sent?: string | null,
 *   run_id?: string | null, local_id?: string | null,
 *   thread_id?: string | null, usage?: UsageState | null, ttft?: number | null,
 *   started_at?: number | null, first_token_at?: number | null, finished_at?: number | null,
 *   duration?: number | null, paused_seconds?: number | null, paused_at?: number | null,
 *   tokens_per_second?: number | null,
 *   execution_time?: number | null, followups?: string[], error?: ErrorState | null,
 *   finish_reason?: string | null, cut_note?: string, started_as?: string | null,
 *   model?: string | null, mode?: string | null, plan?: PlanState | null,
 *   cost?: number | null, cost_source?: string | null, cost_reason?: string | null,
 *   verdict?: { value: boolean, comment: string | null } | null,
 * }} MetaState  status: pending | running | paused | completed | failed | cancelled |
 *   interrupted (paused: waiting for a human to decide on a tool call; not an end)
 * @typedef {{ content: string, status: string, priority?: string | null }} PlanEntry  one step
 *   of an agent's plan: status pending | in_progress | completed; priority high | medium | low
 * @typedef {{ entries: PlanEntry[], more: number }} PlanState  the agent's last plan (its first
 *   entries, and how many more it has)
 * @typedef {{ model?: string | null, cost?: number | null, cost_source?: string | null,
 *   cost_reason?: string | null }} PricedState  what a run or a call spent, and its price
 * @typedef {{ parts: PartState[], tools: ToolState[], meta: MetaState }} TurnWire
 * @typedef {{ turns: TurnWire[] }} TranscriptWire
 * @typedef {{
 *   parts: PartState[], tools: Map<string, ToolState>, meta: MetaState,
 *   placement: Map<string, Placement>,
 *   dirtyParts: Set<number>, dirtyTools: Set<string>, dirtyMeta: boolean,
 * }} Turn
 * @typedef {(
 *   { op: "turn", t: number, turn: TurnWire } |
 *   { op: "part", t: number, i: number, kind: PartKind, call_id?: string | null, text?: string } |
 *   { op: "text", t: number, i: number, text: string } |
 *   { op: "tool", t: number, call: ToolState } |
 *   { op: "args", t: number, call_id: string, text: string } |
 *   { op: "agent_text", t: number, call_id: string, kind: "text" | "reasoning", text: string } |
 *   { op: "meta", t: number, meta: MetaState }
 * )} Op
 */

export const TERMINAL = new Set(["completed", "failed", "cancelled", "interrupted"]);

/**
 * Where a call newly seen is drawn: inside its parent when the parent came before it, else at
 * the top. The rule of agentnb/_display/call_tree.py: decided once, in arrival order, so a
 * parent that never came, a call naming itself or two calls naming each other can neither
 * hide a call nor make a cycle.
 * @param {Map<string, Placement>} placement
 * @param {ToolState} call
 */
export function place(placement, call) {
  const parentId = call.parent_call_id ?? null;
  const parent = parentId !== null ? placement.get(parentId) : undefined;
  placement.set(call.call_id, parent
    ? { parent: /** @type {string} */ (parentId), level: parent.level + 1 }
    : { parent: null, level: 0 });
}

/** @param {TurnWire} wire @returns {Turn} */
function turnFromWire(wire) {
  /** @type {Map<string, ToolState>} */
  const tools = new Map();
  /** @type {Map<string, Placement>} */
  const placement = new Map();
  for (const call of wire.tools || []) {
    if (tools.has(call.call_id)) continue;
    tools.set(call.call_id, { ...call });
    place(placement, call);
  }
  const parts = (wire.parts || []).map((p) => ({
    kind: p.kind,
    text: p.text || "",
    call_id: p.call_id ?? null,
  }));
  return {
    parts,
    tools,
    placement,
    meta: { ...(wire.meta || {}) },
    dirtyParts: new Set(parts.map((_, i) => i)),
    dirtyTools: new Set(tools.keys()),
    dirtyMeta: true,
  };
}

export class TranscriptState {
  constructor() {
    /** Sequence number of the last frame applied; -1 before any state. */
    this.seq = -1;
    /** @type {Turn[]} */
    this.turns = [];
  }

  /**
   * Replace everything with a snapshot taken at `seq`.
   * @param {TranscriptWire} wire
   * @param {number} seq
   */
  reset(wire, seq) {
    this.turns = (wire.turns || []).map(turnFromWire);
    this.seq = seq;
  }

  /** @param {Op[]} ops @param {number} seq */
  applyDelta(ops, seq) {
    for (const op of ops) this.applyOp(op);
    this.seq = seq;
  }

  /** @param {Op} op */
  applyOp(op) {
    if (op.op === "turn") {
      // A new turn, or a turn sent whole again (a step was reset: parts may be shorter and
      // tool calls gone); its view rebuilds when it meets the new object.
      this.turns[op.t] = turnFromWire(op.turn);
      return;
    }
    const turn = this.turns[op.t];
    if (!turn) throw new Error(`agentnb: delta for unknown turn ${op.t}`);
    switch (op.op) {
      case "part":
        turn.parts[op.i] = { kind: op.kind, text: op.text || "", call_id: op.call_id ?? null };
        turn.dirtyParts.add(op.i);
        break;
      case "text": {
        const part = turn.parts[op.i];
        if (!part) throw new Error(`agentnb: text for unknown part ${op.i}`);
        part.text += op.text;
        turn.dirtyParts.add(op.i);
        break;
      }
      case "tool": {
        const previous = turn.tools.get(op.call.call_id);
        turn.tools.set(op.call.call_id, { ...previous, ...op.call });
        if (!previous) place(turn.placement, op.call);
        turn.dirtyTools.add(op.call.call_id);
        break;
      }
      case "args": {
        const call = turn.tools.get(op.call_id);
        if (!call) throw new Error(`agentnb: arguments for unknown tool call ${op.call_id}`);
        call.arguments_text = (call.arguments_text || "") + op.text;
        turn.dirtyTools.add(op.call_id);
        break;
      }
      case "agent_text": {
        const call = turn.tools.get(op.call_id);
        if (!call) throw new Error(`agentnb: sub-agent text for unknown tool call ${op.call_id}`);
        if (op.kind === "reasoning") call.agent_reasoning = (call.agent_reasoning || "") + op.text;
        else call.agent_text = (call.agent_text || "") + op.text;
        turn.dirtyTools.add(op.call_id);
        break;
      }
      case "meta":
        Object.assign(turn.meta, op.meta);
        turn.dirtyMeta = true;
        break;
      default:
        throw new Error(`agentnb: unknown delta op ${JSON.stringify(op)}`);
    }
  }

  /** True while any turn's run has not reached a terminal status. */
  get running() {
    return this.turns.some((t) => !TERMINAL.has(t.meta.status || "pending"));
  }
}

/**
 * Whether two states of a turn are of the same run: the kernel names each turn's run by its
 * local id. A transcript without them (saved by an older agentnb) has one run per place,
 * as the kernel only ever appends turns.
 * @param {Turn} a @param {Turn} b
 */
export function sameRun(a, b) {
  const [one, other] = [a.meta.local_id, b.meta.local_id];
  return !one || !other || one === other;
}

/**
 * The answer of a turn: its text parts, joined.
 * @param {Turn} turn
 */
export function answerText(turn) {
  return turn.parts
    .filter((p) => p.kind === "text")
    .map((p) => p.text)
    .join("");
}
