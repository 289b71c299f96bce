"""An MCP server written with the ``mcp`` SDK, over stdio, whose tools ask the person a question
in the middle of their call (MCP's elicitation): ``book`` a form of a date and a number of
seats, ``survey`` a form of 300 fields, ``feedback`` of 30 required ones, ``preferences`` of
30 optional ones titled with markup and a bidi override, ``pay`` a link to open (URL mode),
``launch`` a link that is not http(s), ``cabin`` a form whose fields have defaults (it says the
content as it came, before any default of its own is applied). Each says what came
back: ``accepted {...}``, ``declined`` or ``cancelled``. ``hold`` asks nothing: it runs until
``release`` is called; ``search`` says how it goes (MCP's progress) and waits for it too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations

server = MCPServer("travel")
READ = ToolAnnotations(read_only_hint=True)


class Booking(pydantic.BaseModel):
    date: str = pydantic.Field(title="<b>Date</b> of travel")
    seats: int = pydantic.Field(title="Seats", ge=1, le=9)


SURVEY: Any = pydantic.create_model("Survey", **{f"q{n:03}": (str, ...) for n in range(300)})
FEEDBACK: Any = pydantic.create_model("Feedback", **{f"f{n:02}": (str, ...) for n in range(30)})
LABEL = "<img src=x onerror=alert(1)>\u202eevil"
PREFERENCES: Any = pydantic.create_model(
    "Preferences",
    **{f"p{n:02}": (str, pydantic.Field("", title=f"{LABEL} {n}")) for n in range(30)},
)


def said(answer: Any) -> str:
    if answer.action == "accept":
        data = getattr(answer, "data", None)
        return f"accepted {data.model_dump() if data is not None else ''}".strip()
    return {"decline": "declined", "cancel": "cancelled"}[answer.action]


@server.tool(annotations=READ)
async def book(city: str, ctx: Context) -> str:
    """Book a trip: asks for the date and the seats."""
    return said(await ctx.elicit(f"Which date and how many seats for {city}?", schema=Booking))


@server.tool(annotations=READ)
async def survey(city: str, ctx: Context) -> str:
    """Asks 300 questions at once."""
    return said(await ctx.elicit("A few questions", schema=SURVEY))


@server.tool(annotations=READ)
async def pay(city: str, ctx: Context) -> str:
    """Asks the person to open a payment page."""
    url = "https://pay.example.com/checkout/42"
    return said(await ctx.elicit_url(f"Pay for {city} at the link", url, "pay-42"))


@server.tool(annotations=READ)
async def feedback(city: str, ctx: Context) -> str:
    """Asks 30 required questions: more than a person is shown."""
    return said(await ctx.elicit("Your feedback", schema=FEEDBACK))


@server.tool(annotations=READ)
async def preferences(city: str, ctx: Context) -> str:
    """Asks 30 optional questions whose titles hold markup and a bidi override."""
    return said(await ctx.elicit("Your preferences", schema=PREFERENCES))


CABIN = {
    "type": "object",
    "properties": {
        "cabin": {"type": "string", "enum": ["economy", "business"], "default": "economy"},
        "meals": {"type": "boolean", "default": True},
        "bags": {"type": "integer", "default": 1},
        "note": {"type": "string"},
    },
}


@server.tool(annotations=READ)
async def cabin(city: str, ctx: Context) -> str:
    """Asks for a cabin, meals and bags, each with a default: says the content it received."""
    answer = await ctx.request_context.session.elicit_form(
        f"Your cabin to {city}", CABIN, related_request_id=ctx.request_id
    )
    return said(answer) if answer.action != "accept" else f"received {answer.content}"


@server.tool(annotations=READ)
async def launch(city: str, ctx: Context) -> str:
    """Asks the person to open a link that is not http(s)."""
    return said(await ctx.elicit_url("Open the app", "file:///etc/passwd", "app-1"))


RELEASED = asyncio.Event()


@server.tool(annotations=READ)
async def hold(city: str) -> str:
    """Runs until ``release`` is called."""
    await RELEASED.wait()
    return "released"


@server.tool(annotations=READ)
async def release(city: str) -> str:
    """Ends the calls of ``hold``."""
    RELEASED.set()
    return "released"


@server.tool(annotations=READ)
async def search(city: str, ctx: Context) -> str:
    """Says how its search goes (MCP's progress), halfway until ``release`` is called."""
    await ctx.report_progress(1, 2, f"searching flights to {city}")
    await RELEASED.wait()
    await ctx.report_progress(2, 2, "done")
    return "found 3 flights"


if __name__ == "__main__":
    server.run("stdio")
