// @ts-check
// The chat cell's own module (loader.js). Importing the runtime's bundle needs a browser (a
// blob: module); the browser tests cover that path. Here: what it does when it cannot.
import "./dom.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import loader, { bundleBlob } from "../src/loader.js";

/** @param {string} runtime */
function cellModel(runtime) {
  return {
    /** @param {string} name */
    get: (name) => (name === "runtime" ? runtime : undefined),
    widget_manager: {
      /** @param {string} id @returns {Promise<any>} */
      get_model: (id) => Promise.reject(new Error(`widget model not found: ${id}`)),
    },
  };
}

test("a cell naming no runtime says in its element that its code is not available", async () => {
  const el = document.createElement("div");
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args);
  try {
    assert.equal(loader.initialize({ model: cellModel("") }), undefined, "initialize holds nothing back");
    assert.equal(await loader.render({ model: cellModel(""), el }), undefined);
  } finally {
    console.error = original;
  }
  assert.match(el.textContent || "", /code is not available/);
  assert.equal(errors.length, 1);
});

test("the runtime's bundle is unpacked from gzip and base64 into a JavaScript blob", async () => {
  const { gzipSync } = await import("node:zlib");
  const source = "export default { render() {} }; // é ✓";
  const blob = await bundleBlob(gzipSync(Buffer.from(source)).toString("base64"));
  assert.equal(blob.type, "text/javascript");
  assert.equal(await blob.text(), source);
});
