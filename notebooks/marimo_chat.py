import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import agentnb

    return agentnb, mo


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # agentnb in marimo

    The chat cell works in marimo as in Jupyter: it streams the run live, with its
    reasoning, tool calls, Stop button and status line. With nothing configured, agentnb
    starts its built-in demo server, so this notebook runs offline.

    Run it with `marimo edit notebooks/marimo_chat.py` (or `marimo run` for the app view).
    IPython magics (`%%agent`) do not exist in marimo: call `agentnb.ask`, `agentnb.chat`
    and `agentnb.show` instead.
    """)
    return


@app.cell
def _(agentnb):
    # One run, shown live. The cell returns at once; the follow-up chips under the answer
    # continue the conversation in the same chat cell.
    quote = agentnb.ask(
        "finance_agent",
        "What is NVDA trading at, and how did it move this week?",
        followups=True,
    )
    return (quote,)


@app.cell
def _(agentnb):
    # A chat with an input box: every message starts a run on the same thread. The writer
    # writes a long document, so there is time to press Stop.
    writer = agentnb.chat("writer", metadata={"paragraphs": "80"})
    return (writer,)


@app.cell
def _(mo):
    question = mo.ui.text_area(placeholder="Ask the finance agent…", full_width=True).form(
        submit_button_label="Ask"
    )
    question
    return (question,)


@app.cell
def _(agentnb, mo, question):
    # marimo's own way to take input: this cell runs again with each question submitted.
    # It ends with an assignment: a cell ending with `agentnb.ask(...)` would show the
    # returned handle instead of the chat cell.
    mo.stop(question.value is None)
    _asked = agentnb.ask("finance_agent", question.value)
    return


@app.cell
def _(mo):
    summarize = mo.ui.run_button(label="Summarize the NVDA run")
    summarize
    return (summarize,)


@app.cell
def _(mo, quote, summarize):
    # Waits for the run only when asked: while a cell waits, marimo handles no widget
    # messages (Stop included); its interrupt button stops the wait and cancels the run.
    mo.stop(not summarize.value)
    _run = quote.wait()
    mo.md(
        f"**{_run.status}** in {_run.duration or 0:.1f} s with "
        f"{len(_run.tool_calls)} tool calls: {_run.text[:100]}…"
    )
    return


if __name__ == "__main__":
    app.run()
