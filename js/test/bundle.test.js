// @ts-check
// The committed bundle (agentnb/static/widget.js, what the notebook loads) renders a chat,
// including what the build trims from dependencies (see build.mjs).
import "./dom.js";
import { fakeModel } from "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";

test("the built widget renders markdown with entities, and cleans up", async () => {
  // A computed specifier, so tsc does not type-check the minified bundle.
  const bundle = new URL("../../agentnb/static/widget.js", import.meta.url).href;
  const widget = (await import(bundle)).default;
  const model = fakeModel({
    transcript: {
      seq: 1,
      turns: [
        {
          parts: [{ kind: "text", text: "AT&amp;T &copy; &#x41; &NotNestedGreaterGreater; `x`", call_id: null }],
          tools: [],
          meta: { status: "completed" },
        },
      ],
    },
  });
  const el = document.createElement("div");
  const cleanup = widget.render({ model: /** @type {any} */ (model.proxy()), el });
  assert.equal(el.querySelector(".anb-answer p")?.textContent, "AT&T © A ⪢̸ x");
  cleanup();
  assert.equal(model.listeners("msg:custom"), 0);
  assert.equal(el.childElementCount, 0);
});
