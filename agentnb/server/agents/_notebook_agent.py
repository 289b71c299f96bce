"""The ``notebook_agent`` demo agent: it works in your notebook through the notebook tools
the client declares (``agentnb.notebook_tools()``, ``%%agent notebook_agent --notebook``): it
adds a cell of the code in your message (its first ```fenced``` or `backticked` code, else a
cell that says hello), runs it, and answers with what the cell printed. Each call is the
client's to run, so each asks on the run's card first; a denial or an error ends the run with
an answer that quotes it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .._steps import Finish, Reasoning, Step, ToolStart
from ._agent_input import AgentInput, CallIds, DemoAgent, final_answer

__all__ = ["NotebookAgent"]

ADD, RUN = "notebook_add_cell", "notebook_run_cell"
HELLO = 'print("Hello from the agent")'
NO_TOOLS = (
    "I work in your notebook: ask me with `--notebook` (or `tools=agentnb.notebook_tools()`) "
    "so I can add a cell and run it."
)
_CODE = re.compile(r"```(?:python)?\n?(?P<fenced>.*?)```|`(?P<inline>[^`\n]+)`", re.S)
_ADDED = re.compile(r"added cell (?P<id>\S+) \(source hash (?P<hash>[0-9a-f]{16})\)")
_RAN = re.compile(
    r"ran cell \S+ \((?P<count>execution count \d+)\): (?P<status>\w+)\n(?P<rest>.*?)\n</", re.S
)
"""What a run's result reads (a notebook data block): its status, then the cell's source
indented, then what the cell printed, returned, raised and displayed."""


class NotebookAgent(DemoAgent):
    name = "notebook_agent"
    model = "gpt-4o-mini"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = (
        "Adds a cell of the code in your message to your notebook and runs it, through the "
        "notebook tools (`--notebook`), then says what the cell printed."
    )

    def steps(self, request: AgentInput) -> Iterator[Step]:
        declared = {str(tool.get("name")) for tool in request.client_tools}
        ids = CallIds(request.run_id)
        leg = len(request.tool_results)  # one call a leg: how many came back says where it is
        said = request.tool_results[-1].content if leg else ""
        if not {ADD, RUN} <= declared:
            yield from final_answer(NO_TOOLS)
        elif leg == 0:
            code = code_in(request.message)
            yield Reasoning("I add a cell of that code at the end of your notebook.")
            yield ToolStart(f"{ids.next()}_add", ADD, {"source": code}, client=True)
            yield Finish()
        elif leg == 1 and (added := _ADDED.search(said)) is not None:
            arguments = {"cell_id": added["id"], "source_hash": added["hash"]}
            yield Reasoning(" Now I run it.")
            yield ToolStart(f"{ids.next()}_run", RUN, arguments, client=True)
            yield Finish()
        elif leg == 2 and (ran := _RAN.search(said)) is not None:
            yield from final_answer(_what_it_printed(ran))
        else:
            yield from final_answer(f"I stopped: {said.strip()}")


def code_in(message: str) -> str:
    """The code a message gives: its first fenced block or backticked span, else a hello."""
    found = _CODE.search(message)
    if found is None:
        return HELLO
    return (found["fenced"] or found["inline"] or HELLO).strip() or HELLO


def _what_it_printed(ran: re.Match[str]) -> str:
    lines = [line for line in ran["rest"].splitlines() if line and not line.startswith("  ")]
    shown = "\n".join(lines).strip() or "(nothing)"
    return f"I ran the cell ({ran['count']}, {ran['status']}). It printed:\n\n```\n{shown}\n```"
