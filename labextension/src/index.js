/**
 * agentnb's notebook extension for JupyterLab 4 and Notebook 7: answers the comm the kernel
 * opens ("agentnb.notebook") on every notebook's kernel, sends the notebook's cells as they
 * change (id, type, source, execution count, each output as bounded text), and applies what
 * the kernel asks (add, edit or run a cell, undo a run's changes, interrupt) on the notebook's own model, so
 * the person sees it happen and undoes an edit as their own. Every change that names a cell
 * carries the source the approval card showed: the change is made only if the cell's source
 * is still exactly that, compared right before it is made. No ILabShell: Notebook 7 loads it.
 */
import { CodeCell } from "@jupyterlab/cells";
import { INotebookTracker } from "@jupyterlab/notebook";

const TARGET = "agentnb.notebook";
/** Characters of one output's text the kernel is sent (it cuts and redacts them again). */
const OUTPUT_CHARS = 10000;
/** Milliseconds the page waits after a change before it sends the cells. */
const SETTLE_MS = 150;

/** @param {any} output one output's JSON, as nbformat writes it */
function outputText(output) {
  const data = output.data ?? {};
  let text = "";
  if (output.output_type === "stream") text = [output.text].flat().join("");
  else if (output.output_type === "error") {
    text = [`${output.ename}: ${output.evalue}`, ...(output.traceback ?? [])].join("\n");
  } else if (data["text/plain"] !== undefined) text = [data["text/plain"]].flat().join("");
  const images = Object.keys(data).filter((mime) => mime.startsWith("image/"));
  if (images.length) text += `${text ? "\n" : ""}[an image: ${images.join(", ")}]`;
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").slice(0, OUTPUT_CHARS);
}

/** @param {any} cell a cell's model */
function cellState(cell) {
  const code = cell.type === "code";
  const agent = cell.sharedModel.getMetadata("agentnb");
  return {
    id: cell.sharedModel.getId(),
    type: cell.type,
    source: cell.sharedModel.getSource(),
    execution_count: code ? cell.executionCount ?? null : null,
    outputs: code ? cell.outputs.toJSON().slice(0, 50).map(outputText) : [],
    agent: agent && typeof agent === "object" ? agent.added_by ?? null : null,
  };
}

/** @param {any} panel a NotebookPanel */
function cellsOf(panel) {
  const cells = panel.content.model?.cells;
  const listed = [];
  for (let i = 0; cells && i < cells.length; i++) listed.push(cellState(cells.get(i)));
  return listed;
}

/** @param {any} panel @param {string} id */
function widgetOf(panel, id) {
  const widget = panel.content.widgets.find((cell) => cell.model.sharedModel.getId() === id);
  if (!widget) throw new Error(`this notebook (${panel.context.path}) has no cell ${id}`);
  return widget;
}

/** The cell `id`, refused when its source is no longer `expected`. @param {any} panel */
function unchanged(panel, id, expected) {
  const widget = widgetOf(panel, id);
  if (widget.model.sharedModel.getSource() !== expected) {
    throw new Error(`cell ${id} changed after the card was drawn: nothing was done, ask again`);
  }
  return widget;
}

/**
 * What one request does; its answer's fields. `changes` holds each add and edit made, for
 * the run that asked it (`by`), so an undo takes back that run's changes, newest first, each
 * only where the cell is still as the run left it.
 * @param {any} panel @param {any} asked @param {any[]} changes
 */
async function apply(panel, asked, changes) {
  const notebook = panel.content.model.sharedModel;
  if (asked.op === "add") {
    let at = notebook.cells.length;
    if (asked.after) at = panel.content.widgets.indexOf(widgetOf(panel, asked.after)) + 1;
    const type = asked.type === "markdown" ? "markdown" : "code";
    const made = notebook.insertCell(at, {
      cell_type: type,
      source: String(asked.source),
      metadata: { agentnb: { added_by: String(asked.by) } },
      ...(type === "code" ? { execution_count: null, outputs: [] } : {}),
    });
    changes.push({ by: asked.by, id: made.getId(), before: null, after: String(asked.source) });
    return { cell_id: made.getId() };
  }
  if (asked.op === "edit") {
    unchanged(panel, asked.cell_id, asked.expected).model.sharedModel.setSource(
      String(asked.source));
    changes.push({ by: asked.by, id: asked.cell_id, before: asked.expected, after: asked.source });
    return {};
  }
  if (asked.op === "undo") {
    const undone = [];
    const kept = [];
    for (const change of changes.filter((c) => c.by === asked.run).reverse()) {
      const widget = panel.content.widgets.find(
        (/** @type {any} */ cell) => cell.model.sharedModel.getId() === change.id);
      if (!widget) kept.push(`cell ${change.id} (deleted since the run changed it)`);
      else if (widget.model.sharedModel.getSource() !== change.after) {
        kept.push(`cell ${change.id} (changed since the run left it)`);
      } else if (change.before === null) {
        notebook.deleteCell(panel.content.widgets.indexOf(widget));
        undone.push(`removed cell ${change.id}`);
      } else {
        widget.model.sharedModel.setSource(change.before);
        undone.push(`restored cell ${change.id}`);
      }
    }
    changes.splice(0, changes.length, ...changes.filter((c) => c.by !== asked.run));
    const done = undone.join(", ") || "none";
    if (kept.length) throw new Error(`not undone: ${kept.join("; ")}; undone: ${done}`);
    if (!undone.length) {
      throw new Error(`run ${asked.run} changed no cell of this notebook since its page opened`);
    }
    return { undone };
  }
  if (asked.op === "run") {
    const widget = unchanged(panel, asked.cell_id, asked.expected);
    if (widget.model.type !== "code") {
      widget.rendered = true;
      return { status: "ok", outputs: [] };
    }
    const reply = await CodeCell.execute(widget, panel.sessionContext);
    const state = cellState(widget.model);
    return {
      status: reply?.content?.status ?? "not run",
      execution_count: state.execution_count,
      outputs: state.outputs,
    };
  }
  if (asked.op === "interrupt") {
    await panel.sessionContext.session?.kernel?.interrupt();
    return {};
  }
  throw new Error(`the page does not know ${String(asked.op).slice(0, 40)}`);
}

/** Answer the kernel's comm for `panel`. @param {any} panel @param {any} comm */
function serve(panel, comm) {
  let timer = 0;
  let closed = false;
  // a settling change may come due after the kernel closed the comm (its run ended) or the
  // kernel connection it was on was disposed: then there is no one to tell, and it is unsent
  const send = (fields = {}) => {
    if (closed || comm.isDisposed) return;
    comm.send({ ...fields, path: panel.context.path, cells: cellsOf(panel) });
  };
  const changed = () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => send({ op: "cells" }), SETTLE_MS);
  };
  panel.content.model?.contentChanged.connect(changed);
  comm.onClose = () => {
    closed = true;
    clearTimeout(timer);
    panel.content.model?.contentChanged.disconnect(changed);
  };
  /** @type {any[]} */
  const changes = [];
  const answer = async (/** @type {any} */ asked) => {
    let answered;
    try {
      answered = { ...(await apply(panel, asked, changes)) };
    } catch (error) {
      answered = { error: String(error instanceof Error ? error.message : error) };
    }
    send({ op: "done", id: asked.id, ...answered });
  };
  // not awaited: the kernel connection waits for a handler's promise before it reads the next
  // message, and a run's own outputs and reply are among them
  comm.onMsg = (/** @type {any} */ msg) => void answer(msg.content.data ?? {});
  send({ op: "cells" });
}

const MARK = "anb-agent-cell";
const MARK_STYLE = `
.jp-Cell.${MARK} .jp-InputArea-prompt::after {
  content: "agent"; display: block; margin-top: 2px; font-size: 10px; font-style: italic;
  color: var(--jp-brand-color1); }
.jp-Cell.${MARK} .jp-InputArea-editor { border-left: 2px solid var(--jp-brand-color2); }`;

/** Mark the cells an agent added (their metadata's `added_by`), in a notebook as it is
 * opened and as it changes: the person tells them from their own, a saved one too.
 * @param {any} panel */
function markAgentCells(panel) {
  for (const cell of panel.content.widgets) {
    const agent = cell.model.sharedModel.getMetadata("agentnb");
    const by = agent && typeof agent === "object" ? agent.added_by : undefined;
    cell.toggleClass(MARK, Boolean(by));
    if (by) cell.node.title = `Added by an agent's run (${String(by).slice(0, 40)})`;
    else if (cell.node.title.startsWith("Added by an agent's run")) cell.node.title = "";
  }
}

/** Register the target on every kernel `panel` gets. @param {any} panel */
function watch(panel, seen) {
  let timer = 0;
  const mark = () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => markAgentCells(panel), SETTLE_MS);
  };
  panel.context.ready.then(() => {
    markAgentCells(panel);
    panel.content.model?.contentChanged.connect(mark);
  });
  panel.disposed.connect(() => clearTimeout(timer));
  const register = () => {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel || seen.has(kernel)) return;
    seen.add(kernel);
    kernel.registerCommTarget(TARGET, (/** @type {any} */ comm) => serve(panel, comm));
  };
  panel.sessionContext.kernelChanged.connect(register);
  panel.sessionContext.ready.then(register);
  register();
}

export default {
  id: "agentnb:notebook",
  description: "Lets an agentnb agent add, edit and run cells, each approved in the kernel.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (/** @type {any} */ _app, /** @type {any} */ tracker) => {
    const style = document.createElement("style");
    style.textContent = MARK_STYLE;
    document.head.appendChild(style);
    const seen = new WeakSet();
    tracker.forEach((/** @type {any} */ panel) => watch(panel, seen));
    tracker.widgetAdded.connect((/** @type {any} */ _, /** @type {any} */ panel) =>
      watch(panel, seen));
  },
};
