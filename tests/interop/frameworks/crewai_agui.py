"""Two CrewAI flows behind ``ag-ui-crewai``, their model pointed at the scripted model: at
``/``, one as its README writes it (a step streaming a ``litellm`` completion through
``copilotkit_stream``, with the tools the client declares, ``state.copilotkit.actions``); at
``/agent``, one whose step kicks off a CrewAI ``Agent`` with a tool of its own (``add``) and
keeps its answer in the flow's messages. Run with the ``.tools/crewai`` venv's Python:

    python crewai_agui.py PORT MODEL_URL

``/health`` answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from ag_ui_crewai import CopilotKitState, add_crewai_flow_fastapi_endpoint, copilotkit_stream
from crewai import LLM, Agent
from crewai.flow.flow import Flow, start
from crewai.tools import tool
from fastapi import FastAPI
from litellm import acompletion

MODEL_URL = ""


class Calc(Flow[CopilotKitState]):
    @start()
    async def chat(self) -> None:
        response = await copilotkit_stream(
            await acompletion(
                model="openai/m",
                api_base=MODEL_URL,
                api_key="sk-scripted",
                messages=[{"role": "system", "content": "You add numbers."}, *self.state.messages],
                tools=self.state.copilotkit.actions,
                stream=True,
            )
        )
        self.state.messages.append(response.choices[0].message)


@tool("add")
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


class CalcAgent(Flow[CopilotKitState]):
    @start()
    async def work(self) -> None:
        llm = LLM(model="openai/m", base_url=MODEL_URL, api_key="sk-scripted", stream=True)
        agent = Agent(role="Calculator", goal="Add numbers", backstory="", tools=[add], llm=llm)
        answer = await agent.kickoff_async(self.state.messages[-1]["content"])
        self.state.messages.append({"role": "assistant", "content": answer.raw})


if __name__ == "__main__":
    MODEL_URL = sys.argv[2]
    app = FastAPI()
    add_crewai_flow_fastapi_endpoint(app, Calc(), "/")
    add_crewai_flow_fastapi_endpoint(app, CalcAgent(), "/agent")
    app.add_api_route("/health", lambda: {"status": "ok"})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
