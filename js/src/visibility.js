// @ts-check
/**
 * A page of many live chat cells stays quick (fifty asks in a loop, each streaming): the
 * cells share one animation frame and its budget, and a cell off screen does no work the
 * person cannot see.
 *
 * - `onSharedFrame`: every cell's redraw asked for before the next frame runs in that frame,
 *   one after another, until the frame's share of time (`FRAME_SHARE_MS`) is spent; the rest
 *   run at the next frame, first. The more cells drew in the last second, the further apart
 *   these frames are (`APART_PER_CELL_MS`): many cells streaming are drawn together. Fifty cells each allowed a frame's budget of their own
 *   would make one task of many frames (a long task: the key a person types waits for it).
 *   `frameDeadline` is when the one drawing now must yield.
 * - `watchVisibility`: one IntersectionObserver for every cell says whether a cell is on
 *   screen (or near it). A cell off screen redraws at most once every `HIDDEN_EVERY_MS`
 *   (its state stays true to its run, cheaply), ticks no clock and places no pinned head;
 *   seen again, it catches up at the next frame. Each view tells the kernel too (chat.js,
 *   `reportSeen`): the observer's first callback (it comes once on `observe`) says the view
 *   exists, seen or not, and the view says it is gone when it stops. A cell with no view
 *   (behind JupyterLab's "Show more outputs", on no page) gets no frames; one none of whose
 *   views is seen a frame a second, not thirty; a view that appears or comes into sight, what
 *   it lacks at once. (`content-visibility: auto` on a cell, which would skip its layout
 *   too, empties its `innerText` out of sight: left out, see docs/benchmarks.md.)
 */

/** Milliseconds of every cell's drawing in one animation frame. */
export const FRAME_SHARE_MS = 8;

/**
 * Milliseconds between shared frames for each cell that drew in the last second, up to
 * `MOST_APART_MS`: one cell streaming redraws at every frame; many streaming at once are
 * drawn together, a few times a second. Each frame that changes the page costs it style,
 * layout, paint and compositing of the whole notebook beyond the cells' own work: fifty
 * cells each redrawn in a frame of its own made the page busy all along (a key typed waited
 * behind those frames).
 */
export const APART_PER_CELL_MS = 4;
const MOST_APART_MS = 100;

/** Milliseconds between the redraws of a cell off screen. */
export const HIDDEN_EVERY_MS = 1000;

/** How far outside the visible area a cell counts as seen (drawn before it scrolls in). */
const NEAR = "400px";

/** Each redraw waiting for the next shared frame, and the cell it draws. */
/** @type {Map<() => void, unknown>} */
const waiting = new Map();
let framePending = false;
/** When the cell drawing now must yield (0: no shared frame is running). */
let frameEnd = 0;

/** The cells (their keys) drawn since `windowStart`, and how many drew in the second before. */
/** @type {Set<unknown>} */
const drawing = new Set();
let windowStart = 0;
let drewLastSecond = 0;
/** When the last shared frame ran. */
let lastShared = -Infinity;

/**
 * Run `cb` in the next shared animation frame (see the module); returns what cancels it.
 * `key` names the cell it draws (how many cells draw sets how far apart the frames are).
 * @param {() => void} cb @param {unknown} [key]
 */
export function onSharedFrame(cb, key = cb) {
  waiting.set(cb, key);
  requestShared();
  return () => {
    waiting.delete(cb);
  };
}

function requestShared() {
  if (framePending) return;
  framePending = true;
  const apart = Math.min(MOST_APART_MS, APART_PER_CELL_MS * drewLastSecond);
  const wait = lastShared + apart - performance.now();
  if (wait <= 0) requestAnimationFrame(runShared);
  else setTimeout(() => requestAnimationFrame(runShared), wait);
}

function runShared() {
  framePending = false;
  const now = performance.now();
  lastShared = now;
  if (now - windowStart >= 1000) {
    drewLastSecond = drawing.size;
    drawing.clear();
    windowStart = now;
  }
  frameEnd = now + FRAME_SHARE_MS;
  let ran = false;
  try {
    for (const [cb, key] of Array.from(waiting)) {
      if (ran && performance.now() >= frameEnd) break; // the rest go first next frame
      waiting.delete(cb);
      drawing.add(key);
      ran = true;
      cb();
    }
  } finally {
    frameEnd = 0;
    if (waiting.size) requestShared();
  }
}

/**
 * When a cell drawing now must stop and ask for another frame: its own budget from now,
 * within the shared frame's share.
 * @param {number} budgetMs
 */
export function frameDeadline(budgetMs) {
  const own = performance.now() + budgetMs;
  return frameEnd ? Math.min(own, frameEnd) : own;
}

/** @type {IntersectionObserver | null} */
let observer = null;
/** @type {WeakMap<Element, (seen: boolean) => void>} */
const watchers = new WeakMap();

/**
 * Tell `onChange` whether `el` is on screen (or near), now and whenever that changes;
 * returns what stops watching. Where the page has no IntersectionObserver, always seen.
 * @param {Element} el @param {(seen: boolean) => void} onChange
 */
export function watchVisibility(el, onChange) {
  if (typeof IntersectionObserver === "undefined") {
    onChange(true);
    return () => {};
  }
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const entry of entries) watchers.get(entry.target)?.(entry.isIntersecting);
    },
    { rootMargin: `${NEAR} 0px` },
  );
  const watching = observer;
  watchers.set(el, onChange);
  watching.observe(el);
  return () => {
    watching.unobserve(el);
    watchers.delete(el);
  };
}
