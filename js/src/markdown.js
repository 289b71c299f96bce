// @ts-check
/**
 * Untrusted markdown → sanitized DOM.
 *
 * Two layers: markdown-it with raw HTML off (so agent text can never inject tags), then
 * DOMPurify on the produced HTML with an allow-list of the tags markdown emits. Remote images
 * are not loaded (an image URL is a classic exfiltration channel for prompt-injected output):
 * they become plain links; only inline `data:image/...` images are shown.
 */
import MarkdownIt from "markdown-it";
import createDOMPurify from "dompurify";

const md = new MarkdownIt("default", { html: false, linkify: true, typographer: false });

const SAFE_DATA_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp|avif);base64,/i;

/** @type {import("markdown-it").RendererRule} */
const renderImage = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = token.attrGet("src") || "";
  const alt = self.renderInlineAsText(token.children || [], options, env);
  if (SAFE_DATA_IMAGE.test(src)) {
    return `<img src="${md.utils.escapeHtml(src)}" alt="${md.utils.escapeHtml(alt)}">`;
  }
  const label = md.utils.escapeHtml(alt || src);
  return `<a href="${md.utils.escapeHtml(src)}" class="anb-image-link">🖼 ${label}</a>`;
};
md.renderer.rules.image = renderImage;

const ALLOWED_TAGS = [
  "a", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3", "h4", "h5", "h6",
  "hr", "img", "li", "ol", "p", "pre", "s", "strong", "summary", "table", "tbody", "td", "th",
  "thead", "tr", "ul",
];
// `open` keeps a tree's top level open (an MCP tool's structured result); `details` and
// `summary` never come from an answer: markdown-it writes no raw HTML
const ALLOWED_ATTR = ["href", "title", "class", "start", "src", "alt", "style", "open"];
// Links may only go to the web or mail; everything else (javascript:, vbscript:, data:, file:)
// loses its href. Fragment-only links stay (markdown footnote-style anchors).
const ALLOWED_URI = /^(?:https?:|mailto:|#)/i;
// markdown-it writes table alignment as `style="text-align:..."`; no other inline style passes.
const SAFE_STYLE = /^text-align:(?:left|right|center)$/;
// Classes only name a code language or our own image link, never a host page class.
const SAFE_CLASS = /^(?:language-[\w+#.-]{1,40}|anb-image-link)$/;

/** @type {import("dompurify").DOMPurify | null} */
let purifier = null;

/** @param {Window & typeof globalThis} win */
function getPurifier(win) {
  if (purifier) return purifier;
  const instance = createDOMPurify(win);
  instance.addHook("uponSanitizeAttribute", (_node, data) => {
    if (data.attrName === "style" && !SAFE_STYLE.test(data.attrValue)) data.keepAttr = false;
    if (data.attrName === "class" && !SAFE_CLASS.test(data.attrValue)) data.keepAttr = false;
  });
  instance.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A") {
      const href = node.getAttribute("href");
      if (href !== null && !ALLOWED_URI.test(href.trim())) node.removeAttribute("href");
      if (node.hasAttribute("href") && !href?.startsWith("#")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
    }
    if (node.nodeName === "IMG" && !SAFE_DATA_IMAGE.test(node.getAttribute("src") || "")) {
      node.removeAttribute("src");
    }
  });
  purifier = instance;
  return instance;
}

/** @param {string} html */
function sanitize(html) {
  const win = /** @type {Window & typeof globalThis} */ (globalThis.window);
  return getPurifier(win).sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}

/**
 * Render one markdown source into a sanitized fragment.
 * @param {string} source
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source) {
  return sanitize(md.render(source));
}

/** @param {string} html  already-produced HTML (exported for the sanitizer tests) */
export function sanitizeHtml(html) {
  return sanitize(html);
}

// ---- streaming block splitting ----------------------------------------------------------
//
// A streamed answer is cut into top-level blocks; a finished block is rendered once and
// never touched again, so each frame re-renders only the block still being written. A cut
// goes before a line that follows a blank line, outside fenced code, and that cannot
// continue the previous block (indented lines and list markers may; they are never cut
// points). The rule reads only text before the cut plus the first character of the next
// line, so the blocks are the same however the text was chunked.

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const BLANK = /^[ \t]*$/;
const CONTINUES_BLOCK = /[\s\-*+0-9]/;

/**
 * Offsets in `text`, after `start`, where a new top-level block begins.
 * `start` must itself be a block start (0 or an earlier cut).
 * @param {string} text
 * @param {number} start
 * @returns {number[]}
 */
export function blockCuts(text, start) {
  /** @type {number[]} */
  const cuts = [];
  /** @type {{ char: string, length: number } | null} */
  let fence = null;
  let prevBlank = false;
  let pos = start;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const line = nl < 0 ? text.slice(pos) : text.slice(pos, nl);
    if (fence === null && prevBlank && pos > start && line.length > 0) {
      if (!CONTINUES_BLOCK.test(line[0])) cuts.push(pos);
    }
    if (nl < 0) break;
    fence = nextFence(fence, line);
    prevBlank = fence === null && BLANK.test(line);
    pos = nl + 1;
  }
  return cuts;
}

/**
 * @param {{ char: string, length: number } | null} fence
 * @param {string} line
 */
function nextFence(fence, line) {
  const match = FENCE.exec(line);
  if (fence === null) {
    if (!match) return null;
    const marker = match[1];
    if (marker[0] === "`" && line.slice(match[0].length).includes("`")) return null;
    return { char: marker[0], length: marker.length };
  }
  if (match && match[1][0] === fence.char && match[1].length >= fence.length) {
    if (BLANK.test(line.slice(match[0].length))) return null;
  }
  return fence;
}

/**
 * Split a whole text into its blocks (what streaming would have produced).
 * @param {string} text
 * @returns {string[]}
 */
export function splitBlocks(text) {
  const cuts = blockCuts(text, 0);
  /** @type {string[]} */
  const blocks = [];
  let from = 0;
  for (const cut of cuts) {
    blocks.push(text.slice(from, cut));
    from = cut;
  }
  if (from < text.length || blocks.length === 0) blocks.push(text.slice(from));
  return blocks;
}
