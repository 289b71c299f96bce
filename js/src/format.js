// @ts-check
/** Small, pure formatting helpers for the status line and tool cards. */

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

/** @param {string} status */
export function statusLabel(status) {
  switch (status) {
    case "pending":
      return "Starting…";
    case "running":
      return "Running";
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
