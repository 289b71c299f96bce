// @ts-check
/** Small, pure formatting helpers for the status line and tool cards. */

import { TERMINAL } from "./state.js";

/** @param {number | null | undefined} seconds */
export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.floor(seconds % 60)} s`;
}

/** @param {number | null | undefined} n */
export function formatCount(n) {
  if (n === null || n === undefined) return "";
  return n.toLocaleString("en-US");
}

/**
 * Tool arguments or output as readable text: strings as they are, everything else as
 * indented JSON.
 * @param {unknown} value
 */
export function formatValue(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/**
 * Arguments streamed as JSON text, pretty-printed when they parse.
 * @param {string} text
 */
export function prettyJsonText(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Characters of a one-line preview. */
export const ONE_LINE_CHARS = 80;

/**
 * A value (a tool's output) on one line, for a summary: a structure, or a string holding
 * JSON, as compact JSON; other text with its white space collapsed; clipped with "…".
 * @param {unknown} value
 * @param {number} [max]
 */
export function oneLine(value, max = ONE_LINE_CHARS) {
  let shown = value;
  if (typeof shown === "string") {
    try {
      const parsed = JSON.parse(shown);
      if (parsed !== null && typeof parsed === "object") shown = parsed;
    } catch {
      // not JSON (or cut short): shown as text
    }
  }
  let text = typeof shown === "string" ? shown.slice(0, max * 4) : compactJson(shown);
  text = text.replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** @param {unknown} value */
function compactJson(value) {
  try {
    // One space of indent, then every line break with its indent becomes one space: the
    // spacing of pretty JSON on one line. Line breaks inside strings are escaped, so kept.
    return (JSON.stringify(value, null, 1) ?? String(value)).replace(/\n */g, " ");
  } catch {
    return String(value);
  }
}

/**
 * The status line's words: the status, and what the kernel says of an answer the model's
 * token limit cut (Python's `run_text.cut_note`, sent with the run as `cut_note`).
 * @param {string} status @param {string | null | undefined} cutNote
 */
export function statusText(status, cutNote) {
  return cutNote ? `${statusLabel(status)} · ${cutNote}` : statusLabel(status);
}

/** @param {string} status */
export function statusLabel(status) {
  switch (status) {
    case "pending":
      return "Starting…";
    case "running":
      return "Running";
    case "paused":
      return "Paused — waiting for your approval";
    case "completed":
      return "Completed";
    case "failed":
      return "Failed";
    case "cancelled":
      return "Cancelled";
    case "interrupted":
      return "Interrupted";
    default:
      return status;
  }
}

/** What a tool call's status reads as, and the glyph beside it (a running call spins). */
const TOOL_STATUSES = {
  running: { label: "running", glyph: "" },
  awaiting_approval: { label: "awaiting approval", glyph: "‖" },
  succeeded: { label: "succeeded", glyph: "✓" },
  failed: { label: "failed", glyph: "✗" },
  denied: { label: "denied", glyph: "⊘" },
  no_result: { label: "no result", glyph: "?" },
};

/** The tooltip of a call whose result never arrived. */
export const NO_RESULT_TITLE =
  "The run ended without the platform reporting this call's result: " +
  "its arguments are known, its output is not.";

/** @param {string} status @returns {{ label: string, glyph: string }} */
export function toolStatus(status) {
  return /** @type {Record<string, { label: string, glyph: string }>} */ (TOOL_STATUSES)[status] ||
    { label: status, glyph: "•" };
}

/**
 * A cost in dollars: cents for a dollar and more, else three significant digits ($1.25,
 * $0.0123, $0.000435), as agentnb's Python `usd()` writes it.
 * @param {number} value
 */
export function formatUsd(value) {
  if (value >= 1) {
    return `$${value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  }
  if (!(value > 0)) return "$0.00";
  const places = Math.min(12, Math.max(2, 2 - Math.floor(Math.log10(value))));
  const [whole, fraction = ""] = value.toFixed(places).replace(/0+$/, "").split(".");
  return `$${whole}.${fraction.padEnd(2, "0")}`;
}

/**
 * The model and the cost, as far as they are known ("gpt-4o-mini · $0.000435").
 * @param {import("./state.js").PricedState} meta
 */
export function costText(meta) {
  const bits = [];
  if (meta.model) bits.push(meta.model);
  if (typeof meta.cost === "number") bits.push(formatUsd(meta.cost));
  return bits.join(" · ");
}

/**
 * The tooltip of the cost: where it came from, or why it is missing.
 * @param {import("./state.js").PricedState} meta
 */
export function costTitle(meta) {
  if (typeof meta.cost === "number") {
    return `USD, ${meta.cost_source === "platform" ? "as the platform reported it" :
      meta.cost_source === "custom" ? "from your custom price for the model" :
        "from genai-prices' price table"}`;
  }
  return meta.cost_reason ? `No cost: ${meta.cost_reason}` : "";
}

/**
 * What a sub-agent spent inside a call, where the platform says: its tokens, model and cost
 * ("tokens 10 in · 20 out · 30 total · gpt-4o-mini · $0.000012"), as Python's `call_spent`
 * writes it; empty for a plain tool.
 * @param {import("./state.js").ToolState} call
 */
export function spentText(call) {
  const tokens = tokenText(call.usage);
  if (!tokens) return "";
  const priced = costText(call);
  return priced ? `${tokens} · ${priced}` : tokens;
}

/**
 * The running total of a conversation of several runs: "conversation · 3 runs · $0.0123"
 * (and how many runs have no cost: a missing cost is not counted as 0). Empty for one run.
 * @param {import("./state.js").MetaState[]} metas
 */
export function conversationTotal(metas) {
  if (metas.length < 2) return "";
  const ended = metas.filter((meta) => TERMINAL.has(meta.status || ""));
  const priced = ended.filter((meta) => typeof meta.cost === "number");
  const bits = [`conversation · ${metas.length} runs`];
  if (priced.length) {
    bits.push(formatUsd(priced.reduce((sum, meta) => sum + /** @type {number} */ (meta.cost), 0)));
  }
  const unpriced = ended.length - priced.length;
  if (unpriced) bits.push(`${unpriced} without a cost`);
  return bits.join(" · ");
}

/** @param {import("./state.js").UsageState | null | undefined} usage */
export function tokenText(usage) {
  if (!usage) return "";
  const bits = [];
  if (usage.prompt_tokens !== null && usage.prompt_tokens !== undefined) {
    bits.push(`${formatCount(usage.prompt_tokens)} in`);
  }
  if (usage.completion_tokens !== null && usage.completion_tokens !== undefined) {
    bits.push(`${formatCount(usage.completion_tokens)} out`);
  }
  if (usage.total_tokens !== null && usage.total_tokens !== undefined) {
    bits.push(`${formatCount(usage.total_tokens)} total`);
  }
  return bits.length ? `tokens ${bits.join(" · ")}` : "";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** @param {number} n */
const twoDigits = (n) => String(n).padStart(2, "0");

/**
 * A local time of day on a 24-hour clock (`14:03`, or `14:03:12` with seconds), the same in
 * every locale, as the kernel's saved copy and text views print it.
 * @param {Date} date @param {boolean} [seconds]
 */
export function clockTime(date, seconds = false) {
  const clock = `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`;
  return seconds ? `${clock}:${twoDigits(date.getSeconds())}` : clock;
}

/** @type {Intl.DateTimeFormat | null} */
let fullFormat = null;

/** The full date and time in the page's locale: one formatter for every cell (making one,
 * as `toLocaleString` with options does at each call, costs a page of fifty new chat cells
 * tens of milliseconds in one task). */
function fullDate() {
  fullFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
  return fullFormat;
}

/**
 * When a turn started, for its head: the time of day (with the date when not today, `Nov 21,
 * 14:03`, as the saved copy prints it), the full date and time for the hover, and the ISO
 * form for `<time datetime>`.
 * @param {number} epochSeconds
 * @param {Date} [now]
 */
export function turnTime(epochSeconds, now = new Date()) {
  const date = new Date(epochSeconds * 1000);
  const today = date.toDateString() === now.toDateString();
  const day = `${MONTHS[date.getMonth()]} ${date.getDate()}`;
  return {
    short: today ? clockTime(date) : `${day}, ${clockTime(date)}`,
    full: fullDate().format(date),
    iso: date.toISOString(),
  };
}

/**
 * Characters that would not show as themselves: controls, format characters (bidi
 * embeddings, overrides and isolates, zero-width characters, the BOM), line and paragraph
 * separators, surrogates, private use, unassigned code points, whitespace other than the
 * space, and the letters that render blank (Hangul fillers, the braille blank, the Mongolian
 * vowel separator). The mirror of Python's `agentnb._core.text.visible`.
 */
const INVISIBLE = /^(?:[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}\u115f\u1160\u3164\uffa0\u2800\u180e]|(?! )\s)$/u;
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/**
 * `text` with every character that would not show as itself written `⟨U+202E⟩`, so a
 * server cannot start a line, move the cursor, reorder or hide text in what a person reads
 * before deciding.
 * @param {string} text
 */
export function visible(text) {
  if (PLAIN_ASCII.test(text)) return text;
  let out = "";
  for (const char of text) {
    if (INVISIBLE.test(char)) {
      const code = /** @type {number} */ (char.codePointAt(0));
      out += `⟨U+${code.toString(16).toUpperCase().padStart(4, "0")}⟩`;
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * Multi-line text with each line made {@link visible}: the line breaks stay.
 * @param {string} text
 */
export function visibleLines(text) {
  return text.split("\n").map(visible).join("\n");
}
