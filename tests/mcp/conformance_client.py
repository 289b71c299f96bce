"""agentnb as the MCP client the MCP conformance suite (``@modelcontextprotocol/conformance``)
drives: ``conformance client --command "python conformance_client.py"`` starts a server of a
scenario and runs this with its URL last. What a notebook does with a server's tools, this
does: ``mcp_tools(url=...)``, then each tool called as a run calls it, with the arguments
its schema asks for, and a form the server asks in the middle of a call accepted with no
field given (``elicit=``), so the form's defaults are what goes back (SEP-1034). In an
``auth/`` scenario it signs in as a person would: as the client the scenario registered ahead
of time (its context's ``client_id`` and ``client_secret``), else named by the suite's client
metadata document's URL, else registered on the spot; the link agentnb shows is opened (the
suite's authorization server sends it straight back to agentnb's listener). Its tokens go in a
key file of the scenario's own, in the folder ``CONFORMANCE_KEYS_DIR`` names (see
:func:`keep_tokens_apart`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

import agentnb
from agentnb.types import OAuth

SAMPLE = {"number": 2, "integer": 3, "string": "text", "boolean": True}
"""A value of each JSON Schema type, for a tool's required arguments."""


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """A value for each argument the tool's input schema requires."""
    fields = schema.get("properties") or {}
    return {
        name: SAMPLE.get(str(fields.get(name, {}).get("type")), "text")
        for name in schema.get("required") or []
    }


CIMD_URL = "https://conformance-test.local/client-metadata.json"
"""The client metadata document the suite's ``auth/basic-cimd`` scenario expects as the id."""
LINK = re.compile(r"open this link and sign in \(agentnb does not open it\):\n(\S+)")


class Person:
    """Stands for stdout: what agentnb prints goes on, and each sign-in link in it is opened."""

    def __init__(self) -> None:
        self.out = sys.stdout
        self.said = ""

    def write(self, text: str) -> int:
        self.said += text
        for link in LINK.findall(self.said):
            self.said = ""
            threading.Thread(
                target=httpx.get, args=(link,), kwargs={"follow_redirects": True}
            ).start()
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def signing_in() -> OAuth | None:
    """How the scenario's client signs in (None outside an ``auth/`` scenario)."""
    if not os.environ.get("MCP_CONFORMANCE_SCENARIO", "").startswith("auth/"):
        return None
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    if "client_id" in context and "private_key_pem" not in context:
        return OAuth(client_id=context["client_id"], client_secret=context.get("client_secret"))
    return OAuth(client_metadata_url=CIMD_URL)


def keep_tokens_apart() -> None:
    """Keeps the scenario's tokens in a key file of its own (``AGENTNB_MCP_KEYS``) in the folder
    ``CONFORMANCE_KEYS_DIR`` names: the suite's servers reuse their ports, and a file shared by
    the scenarios sent one scenario's server the token another's had given on the same port
    (and the client skipped signing in)."""
    folder = os.environ.get("CONFORMANCE_KEYS_DIR")
    if folder:
        scenario = re.sub(r"\W", "_", os.environ["MCP_CONFORMANCE_SCENARIO"])
        os.environ["AGENTNB_MCP_KEYS"] = str(Path(folder) / f"{scenario}.json")


def main(url: str) -> None:
    keep_tokens_apart()
    sys.stdout = Person()  # type: ignore[assignment]
    with agentnb.mcp_tools(url=url, elicit=lambda _form: {}, auth=signing_in()) as tools:
        for tool in tools:
            assert tool.function is not None and tool.user_loop is not None
            call = tool.function(**arguments_for(dict(tool.parameters)))
            said = asyncio.run_coroutine_threadsafe(call, tool.user_loop).result(60)
            print(f"{tool.name}: {said}")


if __name__ == "__main__":
    main(sys.argv[-1])
