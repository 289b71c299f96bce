// @ts-check
// The run table's entry (agentnb/static/runs_table.js): the view and its stylesheet (esbuild
// emits runs_table.css beside it). Each RunsTable carries both itself (its _esm and _css).
import "./runs_table.css";

export { default } from "./runs_table.js";
