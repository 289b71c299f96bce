// @ts-check
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockCuts, renderMarkdown, sanitizeHtml, splitBlocks } from "../src/markdown.js";

/** @param {DocumentFragment} fragment */
function html(fragment) {
  const box = document.createElement("div");
  box.append(fragment);
  return box;
}

const XSS = [
  "<script>alert(1)</script>",
  '<img src=x onerror="alert(1)">',
  "<svg onload=alert(1)><circle r=5></circle></svg>",
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  "<style>body{background:url(javascript:alert(1))}</style>",
  '<a href="javascript:alert(1)">click</a>',
  "[click](javascript:alert(1))",
  "[click](JaVaScRiPt:alert(1))",
  "[click](vbscript:msgbox(1))",
  "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<javascript:alert(1)>",
  "![x](javascript:alert(1))",
  '<div style="background:url(javascript:alert(1))">x</div>',
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
  '<details open ontoggle="alert(1)">x</details>',
  '<object data="javascript:alert(1)"></object>',
  '<form action="javascript:alert(1)"><button>x</button></form>',
];

const ALLOWED_TAGS = new Set([
  "A", "BLOCKQUOTE", "BR", "CODE", "DEL", "DETAILS", "SUMMARY", "EM", "H1", "H2", "H3", "H4", "H5", "H6", "HR",
  "IMG", "LI", "OL", "P", "PRE", "S", "STRONG", "TABLE", "TBODY", "TD", "TH", "THEAD", "TR",
  "UL", "DIV",
]);
const ALLOWED_ATTRS = new Set([
  "href", "title", "class", "start", "src", "alt", "style", "target", "rel", "open",
]);

/** @param {HTMLElement} root */
function assertSafe(root) {
  for (const el of Array.from(root.querySelectorAll("*"))) {
    assert.ok(ALLOWED_TAGS.has(el.tagName), `tag ${el.tagName} in ${root.innerHTML}`);
    for (const attr of Array.from(el.attributes)) {
      assert.ok(ALLOWED_ATTRS.has(attr.name), `attribute ${attr.name} in ${root.innerHTML}`);
      assert.ok(!attr.name.startsWith("on"), attr.name);
      if (attr.name === "href") assert.match(attr.value, /^(https?:|mailto:|#)/i);
      if (attr.name === "src") assert.match(attr.value, /^data:image\/(png|gif|jpe?g|webp|avif);/i);
      if (attr.name === "style") assert.match(attr.value, /^text-align:(left|right|center)$/);
    }
  }
}

for (const payload of XSS) {
  test(`markdown with ${payload} renders no script`, () => {
    const root = html(renderMarkdown(`Text ${payload} here.\n\n${payload}\n`));
    assertSafe(root);
    assert.equal(root.querySelector("script, iframe, svg, style, object, form, math"), null);
  });
  test(`sanitizer alone strips ${payload}`, () => {
    const root = html(sanitizeHtml(payload));
    assertSafe(root);
  });
}

test("links open in a new tab without opener; script links lose their href", () => {
  const root = html(renderMarkdown("[ok](https://example.com) [bad](javascript:alert(1))"));
  const links = root.querySelectorAll("a");
  assert.equal(links[0].getAttribute("href"), "https://example.com");
  assert.equal(links[0].getAttribute("target"), "_blank");
  assert.equal(links[0].getAttribute("rel"), "noopener noreferrer nofollow");
  assert.equal(root.querySelectorAll("a[href^='javascript']").length, 0);
});

test("remote images become links; inline data images stay", () => {
  const root = html(
    renderMarkdown("![chart](https://tracker.example/x.png) ![dot](data:image/png;base64,iVBOR)"),
  );
  const imgs = root.querySelectorAll("img");
  assert.equal(imgs.length, 1);
  assert.equal(imgs[0].getAttribute("src"), "data:image/png;base64,iVBOR");
  assert.equal(root.querySelector("a.anb-image-link")?.getAttribute("href"), "https://tracker.example/x.png");
});

test("headings, lists, tables and fenced code render", () => {
  const root = html(
    renderMarkdown("# T\n\n- a\n- b\n\n| x | y |\n|---|:-:|\n| 1 | 2 |\n\n```js\nlet a = '<b>';\n```\n"),
  );
  assert.ok(root.querySelector("h1"));
  assert.equal(root.querySelectorAll("li").length, 2);
  assert.equal(root.querySelector("th:nth-child(2)")?.getAttribute("style"), "text-align:center");
  assert.equal(root.querySelector("pre code")?.className, "language-js");
  assert.equal(root.querySelector("pre code")?.textContent, "let a = '<b>';\n");
});

const DOC = [
  "# Report\n\nIntro paragraph that runs\nover two lines.\n\n",
  "- item one\n\n- item two\n\n  continued item\n\n",
  "1. first\n2. second\n\n",
  "```python\ndef f():\n\n    return 1\n\nprint(f())\n```\n\n",
  "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
  "> quote\n\nLast paragraph.\n\n    indented code\n\nEnd.",
].join("");

test("blocks are cut only outside code and before lines that start a new block", () => {
  const blocks = splitBlocks(DOC);
  assert.equal(blocks.join(""), DOC);
  assert.ok(blocks.some((b) => b.startsWith("```python") && b.includes("print(f())\n```")));
  assert.ok(blocks.some((b) => b.includes("- item one") && b.includes("continued item")));
  assert.ok(blocks.every((b) => !/^\s/.test(b)));
  assert.ok(blocks.length >= 6);
});

test("streaming in any chunking gives the same blocks as the whole text", () => {
  const whole = splitBlocks(DOC);
  for (const size of [1, 2, 3, 7, 16, 64]) {
    let text = "";
    let stable = 0;
    /** @type {string[]} */
    const committed = [];
    for (let i = 0; i < DOC.length; i += size) {
      text += DOC.slice(i, i + size);
      for (const cut of blockCuts(text, stable)) {
        committed.push(text.slice(stable, cut));
        stable = cut;
      }
    }
    committed.push(text.slice(stable));
    assert.deepEqual(committed, whole, `chunk size ${size}`);
  }
});
