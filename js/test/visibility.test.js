// @ts-check
// The shared frame's spacing: frames by hand (a stand-in requestAnimationFrame and clock),
// installed before visibility.js is imported.
import { test } from "node:test";
import assert from "node:assert/strict";

/** @type {FrameRequestCallback[]} */
let frames = [];
/** @type {{ at: number, cb: () => void }[]} */
let timers = [];
let now = 0;
const g = /** @type {any} */ (globalThis);
g.requestAnimationFrame = (/** @type {FrameRequestCallback} */ cb) => frames.push(cb);
g.setTimeout = (/** @type {() => void} */ cb, /** @type {number} */ ms) => timers.push({ at: now + ms, cb });
g.performance = { now: () => now };

const { APART_PER_CELL_MS, onSharedFrame } = await import("../src/visibility.js");

/** Let `ms` pass: the timers due fire, then the next frame (every 16 ms) runs. */
function advance(/** @type {number} */ ms) {
  const end = now + ms;
  while (now < end) {
    now += 16;
    const due = timers.filter((t) => t.at <= now);
    timers = timers.filter((t) => t.at > now);
    for (const t of due) t.cb();
    const run = frames;
    frames = [];
    for (const cb of run) cb(now);
  }
}

/**
 * `cells` cells, each asking to be drawn again as soon as it is drawn, for `ms`; the times
 * at which a shared frame drew.
 * @param {number} cells @param {number} ms
 */
function stream(cells, ms) {
  /** @type {number[]} */
  const drawnAt = [];
  const stop = now + ms;
  for (let c = 0; c < cells; c++) {
    const key = {};
    const draw = () => {
      if (drawnAt.at(-1) !== now) drawnAt.push(now);
      if (now < stop) onSharedFrame(draw, key);
    };
    onSharedFrame(draw, key);
  }
  advance(ms + 200);
  return drawnAt;
}

/** @param {number[]} times */
function smallestGap(times) {
  return Math.min(...times.slice(1).map((t, i) => t - times[i]));
}

test("one cell streaming is drawn at every frame", () => {
  const drawnAt = stream(1, 2000);
  assert.equal(smallestGap(drawnAt.slice(70)), 16, "once it has drawn for a second too");
});

test("many cells streaming are drawn together, their frames further apart", () => {
  stream(1, 1100); // a second of one cell: the frames are not spaced yet
  const drawnAt = stream(30, 3000);
  const later = drawnAt.filter((t) => t > drawnAt[0] + 1100);
  assert.ok(smallestGap(later) >= 30 * APART_PER_CELL_MS - 16, `${smallestGap(later)} ms`);
  assert.ok(later.length >= 10, `still a few frames a second: ${later.length} in 1.9 s`);
});
