// Bundle js/src into agentnb/static: widget.js + widget.css (the chat cell's code and style,
// sent once per kernel by the runtime widget), loader.js (each cell's own tiny module, which
// loads widget.js from the runtime) and runs_table.js + runs_table.css (the run table to
// browse, which each table carries). Deterministic: same source, same bytes. `--check` builds
// in memory and fails if the committed files differ.
import { build } from "esbuild";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "agentnb", "static");
const check = process.argv.includes("--check");

// `entities` declares itself free of side effects in its root package.json, but its ESM build
// has its own package.json without that flag, and esbuild reads the nearest one. Without the
// flag the HTML *encoding* tables (~23 kB; markdown-it only decodes) stay in the bundle.
const entitiesSideEffectFree = {
  name: "entities-side-effect-free",
  /** @param {import("esbuild").PluginBuild} build */
  setup(build) {
    const again = Symbol("resolving");
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === again) return undefined;
      const fromEntities = /[\\/]node_modules[\\/]entities[\\/]/.test(args.importer);
      if (args.path !== "entities" && !fromEntities) return undefined;
      const result = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: again,
      });
      return result.errors.length ? result : { ...result, sideEffects: false };
    });
  },
};

const result = await build({
  entryPoints: {
    widget: join(here, "src", "index.js"),
    loader: join(here, "src", "loader.js"),
    runs_table: join(here, "src", "runs_table_index.js"),
  },
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  outdir,
  write: false,
  logLevel: "warning",
  plugins: [entitiesSideEffectFree],
});

let stale = [];
for (const file of result.outputFiles) {
  const name = file.path.slice(outdir.length + 1);
  if (check) {
    let committed = null;
    try {
      committed = await readFile(file.path);
    } catch {
      committed = null;
    }
    if (committed === null || Buffer.compare(committed, Buffer.from(file.contents)) !== 0) {
      stale.push(name);
    }
  } else {
    await mkdir(outdir, { recursive: true });
    await writeFile(file.path, file.contents);
    console.log(`wrote agentnb/static/${name} (${file.contents.length} bytes)`);
  }
}
if (stale.length) {
  console.error(
    `agentnb/static is out of date with js/src: ${stale.join(", ")} differ.\n` +
      "Run `npm --prefix js run build` and commit the result.",
  );
  process.exit(1);
}
if (check) console.log("agentnb/static matches js/src");
