// @ts-check
/**
 * Keep a running turn's head (its message and Stop) in reach: while the head would be above
 * the visible part of the page, it is drawn at the top of what is visible, over the answer,
 * and goes with its turn once the turn scrolls away. CSS `position: sticky` cannot do it:
 * notebooks wrap each output in elements with `overflow: auto` or `hidden` (JupyterLab's
 * output area), which become the sticky box's scroller though they never scroll. So the head
 * is moved with a transform (no layout change), measured against the nearest ancestor that
 * really scrolls, or the window. Pinned, the head is painted with the colour behind the cell
 * (read from the page: a host's page need not be the theme colour the view is drawn on).
 */

/** @param {Element} el @returns {Element | null} the nearest ancestor that scrolls vertically */
export function scrollerOf(el) {
  const view = el.ownerDocument.defaultView;
  if (!view) return null;
  for (let node = el.parentElement; node; node = node.parentElement) {
    const y = view.getComputedStyle(node).overflowY;
    if ((y === "auto" || y === "scroll") && node.scrollHeight > node.clientHeight + 1) return node;
  }
  return null;
}

/** @param {string} css @returns {number[] | null} r, g, b, a of an `rgb()` / `rgba()` colour */
function rgba(css) {
  const m = /^rgba?\(([^)]+)\)$/.exec(css);
  if (!m) return null;
  const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return [r, g, b, a];
}

/**
 * The colour a person sees behind `el`: its ancestors' backgrounds (across a shadow root's
 * host) laid over each other up to the first opaque one; null where the page has none.
 * @param {Element} el @returns {string | null}
 */
export function backdrop(el) {
  const view = el.ownerDocument.defaultView;
  if (!view) return null;
  /** @type {number[][]} */
  const layers = [];
  /** @type {Element | null} */
  let node = el;
  while (node && (layers.length === 0 || layers[layers.length - 1][3] < 1)) {
    const colour = rgba(view.getComputedStyle(node).backgroundColor);
    if (colour && colour[3] > 0) layers.push(colour);
    const root = node.getRootNode();
    node = node.parentElement ?? (root instanceof view.ShadowRoot ? root.host : null);
  }
  if (layers.length === 0) return null;
  let seen = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) {
    seen = [r, g, b].map((v, i) => Math.round(v * a + seen[i] * (1 - a)));
  }
  return `rgb(${seen.join(", ")})`;
}

/**
 * How far down `head` must move to be seen: the distance from its place in the turn to the
 * top of the visible area, never past the end of its turn, and never over a card waiting
 * for a person's decision (`cards`, their boxes): the head stops above such a card and
 * goes with it, so the card's headline and warning are never under the head.
 * @param {{ headTop: number, headHeight: number, turnBottom: number, visibleTop: number,
 *   cards?: { top: number, bottom: number }[], cover?: number }} box
 *   `headTop`: where the head is without any offset; `cover`: how far under its edge a
 *   pinned head covers what is below it
 */
export function pinOffset({ headTop, headHeight, turnBottom, visibleTop, cards = [], cover = 0 }) {
  const room = turnBottom - headHeight - headTop;
  let offset = Math.max(0, Math.min(visibleTop - headTop, room));
  const covers = headHeight + cover;
  // from the lowest card up: a head moved above one card may then cover the card above it
  for (const card of [...cards].sort((a, b) => b.top - a.top)) {
    const top = headTop + offset;
    if (offset > 0 && card.bottom > top && card.top < top + covers) {
      offset = Math.max(0, Math.min(offset, card.top - covers - headTop));
    }
  }
  return offset;
}

/** How far under its edge a pinned head covers (`.anb-pinned::after` in widget.css), in em. */
const COVER_EM = 2.4;

/** The cards of a turn that wait for a person's decision (a call's approval, attachments'). */
const WAITING_CARD = '.anb-tool[data-status="awaiting_approval"]';

/**
 * @typedef {{ offset: number, seen: string | null }} Placement  where a head goes, and the
 *   colour behind its turn when it is pinned
 */

/**
 * Where `head` must go: read from the page, never written (see `placeHeadSoon`).
 * @param {HTMLElement} turn @param {HTMLElement} head @param {boolean} pinned
 * @param {Map<Element, Element | null>} scrollers  each turn's scroller, found once a pass
 * @returns {Placement}
 */
function measure(turn, head, pinned, scrollers) {
  if (!pinned || !turn.isConnected) return { offset: 0, seen: null };
  const current = Number(head.dataset.pin || 0);
  let scroller = scrollers.get(turn);
  if (scroller === undefined) {
    scroller = scrollerOf(turn);
    scrollers.set(turn, scroller);
  }
  const visibleTop = scroller ? Math.max(0, scroller.getBoundingClientRect().top) : 0;
  const headBox = head.getBoundingClientRect();
  const cards = Array.from(turn.querySelectorAll(WAITING_CARD), (card) => {
    const { top, bottom } = card.getBoundingClientRect();
    return { top, bottom };
  });
  const offset = pinOffset({
    headTop: headBox.top - current,
    headHeight: headBox.height,
    turnBottom: turn.getBoundingClientRect().bottom,
    visibleTop,
    cards,
    cover: cards.length ? COVER_EM * parseFloat(getComputedStyle(head).fontSize) : 0,
  });
  // read at each placement: the theme may have changed
  return { offset, seen: offset > 0 ? backdrop(turn) : null };
}

/** @param {HTMLElement} head @param {Placement} placement */
function move(head, { offset, seen }) {
  if (seen) head.style.setProperty("--anb-pin-bg", seen);
  const current = Number(head.dataset.pin || 0);
  if (Math.abs(offset - current) < 0.5) return;
  head.dataset.pin = String(offset);
  head.classList.toggle("anb-pinned", offset > 0);
  head.style.transform = offset > 0 ? `translateY(${offset}px)` : "";
}

/**
 * The heads to place at the next frame, each with its turn and whether it is pinned.
 * @type {Map<HTMLElement, { turn: HTMLElement, pinned: boolean }>}
 */
const waiting = new Map();
let passPending = false;

/** Place every waiting head: all are measured, then all are moved. */
function placeWaiting() {
  passPending = false;
  const heads = Array.from(waiting);
  waiting.clear();
  /** @type {Map<Element, Element | null>} */
  const scrollers = new Map();
  const placements = heads.map(([head, { turn, pinned }]) => measure(turn, head, pinned, scrollers));
  heads.forEach(([head], i) => move(head, placements[i]));
}

/**
 * Put `head` where it is seen (`pinned`) or back in its place, at the next animation frame,
 * with every head asked for before then: they are all measured first and moved after, so
 * that many chat cells running at once cost the page one layout a frame, not one each (a
 * head measured right after its cell drew makes the browser lay the page out again). A head
 * in its place that stays there needs nothing.
 * @param {HTMLElement} turn @param {HTMLElement} head @param {boolean} pinned
 */
export function placeHeadSoon(turn, head, pinned) {
  if (!pinned && !Number(head.dataset.pin || 0)) return;
  waiting.set(head, { turn, pinned });
  if (passPending) return;
  passPending = true;
  requestAnimationFrame(placeWaiting);
}
