// @ts-check
// The run table's entry (agentnb/static/runs_table.js): the views of runs (the table to
// browse, an experiment's grid when the model has a `grid`) and their stylesheet (esbuild
// emits runs_table.css beside it). Each view carries both itself (its _esm and _css).
import "./runs_table.css";
import table from "./runs_table.js";
import { renderGrid } from "./runs_table_grid.js";

/** @param {{ model: any, el: HTMLElement }} context */
function render(context) {
  return context.model.get("grid") ? renderGrid(context) : table.render(context);
}

export default { render };
