"""Write the notebooks in notebooks/ from the cell lists below and execute them, so their
stored outputs are what nbval compares against.

    python scripts/build_notebooks.py            # all notebooks
    python scripts/build_notebooks.py quickstart # one

Run it after changing a notebook here or anything that changes their outputs. It executes
against the built-in server with a fresh, throwaway history, like the tests do.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

Cell = tuple[str, str]  # ("md" | "code", source)

QUICKSTART: list[Cell] = [
    ("md", """# agentnb quickstart

Stream an agent run into this notebook, keep the answer in a variable, ask for JSON that
matches a schema, stop a run, approve a tool call, and look at the history. Everything here runs offline against
agentnb's **built-in local agent server**: with no connection configured, agentnb starts it in
the background on first use (its prices are demo data, not market data).

Cells below use `--wait` so that a top-to-bottom execution (nbval, papermill) records each
finished run; in everyday use leave it out: the cell returns at once and the run streams live
while you keep working."""),
    ("code", "%load_ext agentnb"),
    ("md", """## A run

The cell body is the message. You see the reasoning, each tool call, the markdown answer and
a status line with timing and token usage. `--followups` asks for suggested next questions:
click one to continue the conversation."""),
    ("code", """%%agent finance_agent --wait --followups
What is NVDA trading at, and how did it move this week?"""),
    ("md", "The run handle is in `_agent`: the answer, the tool calls, the usage."),
    ("code", """first = _agent
print(first.status)
print(first.run.usage)
for call in first.run.tool_calls:
    print(call.name, call.arguments, "→", call.status)"""),
    ("md", """## Continue the conversation, and keep the handle

Each cell starts a new conversation, so running a cell again never piles its turns onto an
earlier one. `--continue` goes on with the last conversation with this agent (the cell's head
says which thread and turn), and `--out NAME` binds the handle to a variable of your choice."""),
    ("code", """%%agent finance_agent --wait --continue --out compare
And how does AAPL compare with MSFT this week?"""),
    ("code", """print(compare.run.thread_id == first.run.thread_id)
print([call.arguments for call in compare.run.tool_calls if call.name == "get_stock_price"])"""),
    ("md", """## Structured output

`--schema` takes a pydantic model (or a JSON-schema dict) from the notebook. The agent answers
with JSON for it, and `.result` is the validated value."""),
    ("code", """from pydantic import BaseModel


class Quote(BaseModel):
    ticker: str
    price: float
    currency: str"""),
    ("code", """%%agent structured --schema Quote --wait
NVDA's latest quote"""),
    ("code", "type(_agent.result).__name__, sorted(_agent.result.model_dump())"),
    ("md", """## Stop

Without `--wait` a magic returns at once and the run streams in the background; the widget's
**Stop** button, or `.cancel()` on the handle, ends it and keeps what had arrived. Here a
listener (called on agentnb's background loop after every event) stops a long `writer` run
once its answer passes 300 characters, and `agentnb.show` displays the stopped run."""),
    ("code", """import agentnb

long_run = agentnb.ask("writer", "Write a long report on chip supply chains.",
                       display=False, metadata={"paragraphs": "200"})
long_run.add_listener(lambda run, event: long_run.cancel() if len(run.text) > 300 else None)
try:
    long_run.wait(timeout=60)
except agentnb.RunCancelledError as stopped:
    print(long_run.status, "after", len(stopped.partial_text), "characters")"""),
    ("code", "agentnb.show(long_run)"),
    ("md", """## Tool approval

Some tools should run only once a person says yes. The demo `trader` agent quotes the price,
then asks before its `place_trade` tool places an order (a demo fill: nothing is traded). The
run **pauses**, and the chat cell shows the pending call with its arguments and **Approve** /
**Deny** buttons (Deny takes an optional reason). Click one and the same run goes on:
approved, the order is filled; denied, the agent says it did not trade. In everyday use:

```python
trade = agentnb.ask("trader", "Buy 10 NVDA")        # returns at once: click Approve or Deny
trade.approve(trade.awaiting_approval[0].call_id)   # ... or decide from code
```

When a person is to click, leave out `wait=True` / `--wait`: a cell that waits keeps the
kernel busy, so a click could not reach it. This notebook runs top to bottom with no one to
click, so the cells below decide with a policy, `approve=`, and may wait: `True` approves
every call, `False` denies every call, and a function gets each `ToolCall` and returns True,
False, an `ApprovalDecision` (to give a reason, from `agentnb.approvals`)
or None (leave it to a person). The magics take `--approve all` / `--approve none`."""),
    ("code", """from agentnb.approvals import ApprovalDecision


def small_orders_only(call):
    if call.arguments["shares"] <= 5:
        return True
    return ApprovalDecision(call.call_id, False, "over the 5-share limit")


small = agentnb.ask("trader", "Buy 3 NVDA", approve=small_orders_only, wait=True)"""),
    ("code", """big = agentnb.ask("trader", "Buy 50 NVDA", approve=small_orders_only, wait=True)
for handle in (small, big):
    trade = handle.run.tool_calls[-1]
    why = f" ({trade.error})" if trade.error else ""
    print(f"{trade.name} {trade.arguments['shares']} shares → {trade.status}{why}")"""),
    ("code", """%%agent trader --wait --approve all
Sell 2 AAPL"""),
    ("md", """## Let the agent call your function

Pass your own functions with `tools=` (or `--tool NAME` in a magic): the agent may call them,
agentnb runs each call here in the kernel, sends the result back and the same run goes on to
the answer. The schema comes from the type hints and the docstring. The `openai`,
`openai-responses`, `ag-ui` and `vercel` dialects take tools; the demo `finance_agent` calls
the first tool you declare when it is spoken to in the `openai` dialect."""),
    ("code", """agentnb.connect("openai", local=True, name="local_openai")

holdings = {"NVDA": 12, "AAPL": 30}


def position_value(ticker: str, shares: int) -> str:
    \"\"\"The value of my position in a stock at the demo price.

    Args:
        ticker: The stock symbol.
        shares: Ignored: the notebook knows the holdings.
    \"\"\"
    held = holdings.get(ticker, 0)
    return f"{held} {ticker} shares, worth ${held * 875.4:,.2f}"


mine = agentnb.ask("finance_agent", "What is my NVDA position worth?", via="local_openai",
                   tools=[position_value], wait=True, display=False)
call = mine.run.tool_calls[0]
print(call.name, call.arguments, call.ran_by, "→", call.output)
print(mine.run.text)"""),
    ("md", """## History

Every run is recorded in a local SQLite history (see `usage_analysis.ipynb`)."""),
    ("code", "%agent_runs --limit 4"),
    ("code", """[(r.agent, r.status) for r in agentnb.runs(limit=4)]"""),
]

PROVIDERS: list[Cell] = [
    ("md", """# Connecting to agent platforms

agentnb speaks several "stream a run" dialects. A **connection** names a platform, its base
URL and its API key; `--via NAME` (magics) or `via=` (functions) picks one. Keys come from the
argument or the environment (`AGENTNB_<NAME>_API_KEY`) and are never shown.

Against the real platforms you would write, for example:

```python
agentnb.connect("seekrflow", api_key=os.environ["SEEKR_API_KEY"], name="seekr")       # https://flow.seekr.com
agentnb.connect("runagent", api_key=os.environ["RUNAGENT_API_KEY"], name="runagent")  # https://api.run-agent.ai
agentnb.connect("operativus", base_url="http://localhost:8080", api_key=..., name="operativus")
agentnb.connect("runtools", api_key=os.environ["RUNTOOLS_API_KEY"], name="runtools")  # X-API-Key header
agentnb.connect("openai", base_url="http://localhost:11434/v1", name="ollama")         # any OpenAI-compatible server
agentnb.connect("vercel", base_url="https://my.app", provider_options={"path": "/api/chat"}, name="myapp")  # AI SDK UI message stream
```

Here every connection points at agentnb's built-in server, which speaks the platforms' dialects
(`DIALECT_PROVIDERS`) on the real paths, so the notebook runs offline."""),
    ("code", """import agentnb
from agentnb.server import DIALECT_PROVIDERS

server = agentnb.start_server(delay_ms=0)
sorted(DIALECT_PROVIDERS)"""),
    ("code", """for name in sorted(DIALECT_PROVIDERS):
    agentnb.connect(name, **server.client_settings(name), api_key=server.api_key, name=name.replace("-", "_"))
agentnb.connections()["seekrflow"]"""),
    ("md", """The same question through every dialect: each platform's frames are translated into the
same typed events, so the answers and token counts agree, and so do the tool calls wherever
the platform streams them (run-agent.ai's documented stream has no tool frames: 0 there)."""),
    ("code", """rows = []
for via in [name.replace("-", "_") for name in sorted(DIALECT_PROVIDERS)]:
    handle = agentnb.ask("finance_agent", "What is NVDA trading at?", via=via, display=False)
    run = handle.wait(timeout=60)
    rows.append((via, run.status, len(run.tool_calls), run.usage.total_tokens if run.usage else None, run.text == first_text if rows else True))
    if len(rows) == 1:
        first_text = run.text
for row in rows:
    print(*row)"""),
    ("md", """run-agent.ai documents no reasoning or tool frames, so its runs show the answer only; the
others stream reasoning and tool calls too. A magic picks the connection with `--via`:"""),
    ("code", "%load_ext agentnb"),
    ("code", """%%agent echo --via runtools --wait --plain
Hello from runtools.ai's dialect"""),
    ("md", """## Remote run listings

Where a platform lists its runs, `agentnb.remote_runs` returns them in the same table shape as
the local history: SeekrFlow's list runs (paginated), Operativus's batch status (100 ids a
request)."""),
    ("code", """seekr_run = agentnb.ask("echo", "one", via="seekrflow", display=False).wait()
agentnb.ask("echo", "two", via="seekrflow", thread_id=seekr_run.thread_id, display=False).wait()
remote = agentnb.remote_runs("seekrflow", thread_id=seekr_run.thread_id)
[(r.agent, r.status, r.total_tokens) for r in remote]"""),
    ("md", """## Sub-agents

The built-in server's `research_team` delegates: it asks one `analyst` sub-agent per ticker (in
parallel), and each analyst asks a `quant` sub-agent for the week's move. Where the dialect
carries sub-agents (SeekrFlow's Vercel frames, Vercel, AG-UI, LangGraph) the run is a tree: the
chat cell draws each nested call inside the call that started it, with its agent's name, and
what a sub-agent wrote stays inside its call, collapsed, never in the answer."""),
    ("code", """%%agent research_team --via seekrflow_vercel --wait
Compare NVDA and AAPL"""),
    ("code", """team = _agent.run
sorted((call.depth, call.agent or "", call.name, call.status) for call in team.tool_calls)"""),
    ("md", """## A dialect of your own

A dialect is a small `Provider` subclass: it builds the HTTP request and translates each SSE
frame into agentnb events. Installed packages register theirs under the `agentnb.providers`
entry-point group:

```toml
[project.entry-points."agentnb.providers"]
mydialect = "mypackage.dialect:MyDialect"
```

In a notebook, `register_provider` does the same. This one reads run-agent's stream but shouts
the answer:"""),
    ("code", """from agentnb.events import TextDelta
from agentnb.providers import register_provider
from agentnb.providers.runagent import RunAgent


@register_provider
class Shouting(RunAgent):
    name = "shouting"
    title = "Shouting run-agent"

    def translator(self, request):
        inner = super().translator(request)
        outer = self

        class Loud(type(inner)):
            def translate(self, sse):
                return [
                    TextDelta(delta=e.delta.upper()) if isinstance(e, TextDelta) else e
                    for e in super().translate(sse)
                ]

        loud = Loud.__new__(Loud)
        loud.__dict__.update(inner.__dict__)
        return loud


agentnb.connect("shouting", base_url=server.base_url, api_key=server.api_key, name="loud")
agentnb.ask("echo", "quiet words", via="loud", display=False).wait().text"""),
    ("code", "server.stop()"),
]

USAGE: list[Cell] = [
    ("md", """# Usage analysis

Every run made through agentnb lands in a local SQLite history. Here we evaluate
`finance_agent` over a small question set with `agentnb.batch`, then look at cost and latency
with pandas. (Built-in server, demo data; timings vary from machine to machine, token counts
do not.)

The tables need pandas (`pip install "agentnb[pandas]"`), the plots matplotlib
(`agentnb[plot]`) and the trace OpenTelemetry (`agentnb[otel]`); without one, its cells say
so and skip."""),
    ("code", """import importlib.util


def have(module, extra):
    \"\"\"Whether an optional part is installed; if not, say which extra brings it.\"\"\"
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing too
        found = False
    if not found:
        print(f'skipped: this cell needs {module}: pip install "agentnb[{extra}]"')
    return found"""),
    ("code", """import agentnb

questions = [
    "What is NVDA trading at?",
    "How did AAPL move this week?",
    "Compare MSFT and GOOGL.",
    "What about AMZN and TSLA this week?",
    "Is ZZZZ up this week?",
    "Give me NVDA, AAPL and MSFT.",
]
results = agentnb.batch("finance_agent", questions, concurrency=3, progress=False)
len(results), sorted({r.status for r in results})"""),
    ("code", """echo = agentnb.batch("echo", ["ping"] * 4, concurrency=4, progress=False)
if have("pandas", "pandas"):
    df = agentnb.runs().to_pandas()
    columns = ["agent", "status", "prompt_tokens", "completion_tokens", "total_tokens", "tool_call_count"]
    display(df[columns].sort_values(["agent", "total_tokens"]).reset_index(drop=True))
    display(df.dtypes[["agent", "status", "started_at", "total_tokens"]])"""),
    ("md", "Per-agent summary: success rate, tokens, and latency percentiles."),
    ("code", """if have("pandas", "pandas"):
    summary = agentnb.runs().summary(by="agent")
    display(summary[["runs", "success_rate", "tokens_total", "tool_calls_per_run"]])"""),
    ("md", "Which tools were called, and how often did they fail?"),
    ("code", """if have("pandas", "pandas"):
    calls = agentnb.runs(agent="finance_agent").tool_calls().to_pandas()
    display(calls.groupby(["name", "status"], observed=True).size())"""),
    ("md", "The common views, with matplotlib:"),
    ("code", """if have("matplotlib", "plot"):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
    history = agentnb.runs()
    history.plot("tokens", ax=axes[0])
    history.plot("latency", ax=axes[1])
    history.plot("tools", ax=axes[2])
    fig.tight_layout()
    print([ax.get_title(loc="left") for ax in axes])"""),
    ("md", """The same kind of batch as an OpenTelemetry trace (needs `pip install "agentnb[otel]"`; the
cell says so and does nothing without it). To see it in Phoenix or any OTLP collector, use
`agentnb.configure_tracing(endpoint="http://localhost:6006")` instead of the in-memory
exporter used here."""),
    ("code", """if have("opentelemetry.sdk", "otel"):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    print(agentnb.configure_tracing(tracer_provider=provider))
    agentnb.batch("finance_agent", questions, concurrency=3, progress=False)
    agentnb.configure_tracing(False)

    finished = spans.get_finished_spans()
    [workflow] = [s for s in finished if s.name.startswith("invoke_workflow")]
    print({
        "traces": len({s.context.trace_id for s in finished}),
        "batch span": workflow.name,
        "run spans": sum(s.name.startswith("invoke_agent") for s in finished),
        "tool call spans": sum(s.name.startswith("execute_tool") for s in finished),
        "input tokens": workflow.attributes["agentnb.usage.input_tokens"],
        "output tokens": workflow.attributes["agentnb.usage.output_tokens"],
    })"""),
]

ALL = {"quickstart": QUICKSTART, "providers": PROVIDERS, "usage_analysis": USAGE}


def make(cells: list[Cell]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    return nb


def main(names: list[str]) -> None:
    for key in ("AGENTNB_PROVIDER", "AGENTNB_BASE_URL", "AGENTNB_API_KEY", "AGENTNB_TRACING"):
        os.environ.pop(key, None)
    for name in names or list(ALL):
        os.environ["AGENTNB_HISTORY"] = os.path.join(tempfile.mkdtemp(), "history.db")
        nb = make(ALL[name])
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={
            "metadata": {"path": str(NOTEBOOKS)}}).execute()
        path = NOTEBOOKS / f"{name}.ipynb"
        nbformat.write(nb, path)
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
