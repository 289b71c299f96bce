"""A CrewAI flow behind ``ag-ui-crewai``, as its README writes one: one step streaming a
``litellm`` completion through ``copilotkit_stream``, with the tools the client declares
(``state.copilotkit.actions``), its model pointed at the scripted model. Run with the
``.tools/crewai`` venv's Python:

    python crewai_agui.py PORT MODEL_URL

The AG-UI endpoint is ``/``; ``/health`` answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from ag_ui_crewai import CopilotKitState, add_crewai_flow_fastapi_endpoint, copilotkit_stream
from crewai.flow.flow import Flow, start
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


if __name__ == "__main__":
    MODEL_URL = sys.argv[2]
    app = FastAPI()
    add_crewai_flow_fastapi_endpoint(app, Calc(), "/")
    app.add_api_route("/health", lambda: {"status": "ok"})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
