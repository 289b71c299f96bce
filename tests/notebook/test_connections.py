import re

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import ConfigurationError
from agentnb._app.front import connections as conns


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for key in list(__import__("os").environ):
        if key.startswith("AGENTNB_") and key != "AGENTNB_HISTORY":
            monkeypatch.delenv(key)
    saved = dict(conns._connections)
    conns._connections.clear()
    yield
    conns.close_all()
    conns._connections.update(saved)


def test_connect_registers_a_named_connection() -> None:
    conn = agentnb.connect(
        "runagent", base_url="http://127.0.0.1:9/", api_key="sk-live-abcdef123456", name="prod"
    )
    assert agentnb.get_connection("prod") is conn
    assert conn.provider == "runagent"
    assert conn.base_url == "http://127.0.0.1:9/"


def test_the_key_is_never_shown() -> None:
    key = "sk-live-abcdef123456"
    conn = agentnb.connect("runagent", base_url="http://127.0.0.1:9", api_key=key, name="prod")
    assert key not in repr(conn)
    assert key not in str(conn.describe())
    assert conn.describe()["api_key"] == "***3456"


def test_environment_per_name_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTNB_STAGING_PROVIDER", "openai")
    monkeypatch.setenv("AGENTNB_STAGING_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("AGENTNB_STAGING_API_KEY", "k-staging-0000")
    staging = agentnb.get_connection("staging")
    assert (staging.provider, staging.base_url, staging.api_key) == (
        "openai",
        "http://127.0.0.1:1/v1",
        "k-staging-0000",
    )
    monkeypatch.setenv("AGENTNB_PROVIDER", "operativus")
    monkeypatch.setenv("AGENTNB_BASE_URL", "http://127.0.0.1:2")
    default = agentnb.get_connection()
    assert (default.provider, default.base_url, default.local) == (
        "operativus",
        "http://127.0.0.1:2",
        False,
    )


def test_unknown_connection_says_how_to_create_it() -> None:
    with pytest.raises(
        ConfigurationError, match=r"unknown connection 'nope'.*AGENTNB_NOPE_PROVIDER"
    ):
        agentnb.get_connection("nope")


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown provider 'bogus'.*openai"):
        agentnb.connect("bogus", base_url="http://127.0.0.1:9")


def test_bad_connection_name() -> None:
    with pytest.raises(ConfigurationError, match="connection name"):
        agentnb.connect("openai", base_url="http://127.0.0.1:9", name="has space")


def test_outside_a_notebook_the_local_server_notice_goes_to_stderr_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(conns, "_local_note_shown", False)
    first = agentnb.get_connection()
    conns.disconnect()
    agentnb.get_connection()
    out, err = capsys.readouterr()
    assert first.local and out == ""
    assert err.count("no connection configured; using the built-in local agent server") == 1


def test_an_openai_compatible_servers_models_are_its_agents(server) -> None:  # type: ignore[no-untyped-def]
    conn = agentnb.connect(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, name="models"
    )
    assert conn.supports() == ["streaming", "listing", "fork"]
    names = [a.name for a in conn.agents()]
    assert {"echo", "finance_agent", "writer"} <= set(names)
    assert "echo" in repr(conn)  # the listing read is shown from then on
    shown = repr(agentnb.connections())
    assert re.search(r"^models +openai +http://127\.0\.0\.1:\d+/", shown, re.MULTILINE), shown
    assert shown.splitlines()[0].split() == ["name", "provider", "base_url", "api_key", "supports"]
    assert "streaming, listing, fork" in shown


def test_a_connection_that_cannot_list_says_so(server) -> None:  # type: ignore[no-untyped-def]
    conn = agentnb.connect(
        "runagent", base_url=server.base_url, api_key=server.api_key, name="nolist"
    )
    assert conn.supports() == ["streaming"]
    with pytest.raises(ConfigurationError, match="does not list its agents"):
        conn.agents()
    assert "agents=" not in conn._repr_html_()  # a display does not raise for it


def test_the_local_connection_lists_the_demo_agents() -> None:
    from agentnb._app.front.connections import BUILTIN_AGENTS

    conn = conns.get_connection()
    assert conn.local
    assert [a.name for a in conn.agents()] == list(BUILTIN_AGENTS)


def test_the_built_in_langgraph_lists_its_graphs_as_assistants(server) -> None:  # type: ignore[no-untyped-def]
    from agentnb.server.agents import AGENTS

    settings = server.client_settings("langgraph")
    conn = agentnb.connect("langgraph", **settings, api_key=server.api_key, name="graphs")
    agents = conn.agents()
    assert [a.name for a in agents] == sorted(AGENTS)
    assert agents[0].description == AGENTS[agents[0].name].description


def test_a_display_shows_why_the_agents_are_not_listed() -> None:
    from agentnb_testing import free_port

    down = f"http://127.0.0.1:{free_port()}/v1"
    conn = agentnb.connect("openai", base_url=down, max_retries=0, name="down")
    shown = conn._repr_html_()
    assert "agents not listed: GET " in shown and "could not connect" in shown
    assert "supports" in shown and "listing" in shown
    with pytest.raises(agentnb.TransportError):
        conn.agents()  # asked directly, the error is raised


def test_a_listing_cannot_act_on_the_terminal() -> None:
    from agentnb.providers import RemoteAgent

    hostile = RemoteAgent(
        "evil\x1b]0;pwned\x07", description="line\nbreak \x1b[2Jclear", skills=("a",)
    )
    shown = repr(conns.AgentList("x", [hostile]))
    assert "\x1b" not in shown and "\x07" not in shown
    assert len(shown.splitlines()) == 3  # the title, the headings, one line per agent
    html = conns.AgentList("x", [RemoteAgent("<b>", description="<script>")])._repr_html_()
    assert "<script>" not in html and "&lt;b&gt;" in html


def test_connect_fails_at_once_for_what_its_client_would_refuse() -> None:
    """The client made with the connection checks the key, the dialect, the URL, the
    timeouts and ``trusted_origins=``: each mistake fails at ``connect()``, not at the first
    run (the URL and the timeouts used to fail only then)."""
    url = "http://127.0.0.1:9"
    with pytest.raises(ConfigurationError, match="HTTP header cannot carry"):
        agentnb.connect("openai", base_url=url, api_key="sk-one two", name="bad")
    with pytest.raises(ConfigurationError, match="runagent"):
        agentnb.connect("no-such-dialect", base_url=url, name="bad")
    with pytest.raises(ConfigurationError, match="trusted_origins"):
        agentnb.connect("openai", base_url=url, trusted_origins=["not a url"], name="bad")
    with pytest.raises(ConfigurationError, match="base_url must be an http"):
        agentnb.connect("openai", base_url="ftp://127.0.0.1", name="bad")
    with pytest.raises(ConfigurationError, match="idle_timeout"):
        agentnb.connect("openai", base_url=url, idle_timeout=-1, name="bad")
    assert "bad" not in agentnb.connections()


def test_a_misspelled_client_option_is_an_error_naming_the_options() -> None:
    url = "http://127.0.0.1:9"
    with pytest.raises(
        ConfigurationError, match=r"unknown client option 'idle_timout'.*run_timeout"
    ):
        agentnb.connect("openai", base_url=url, idle_timout=5, name="bad")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"OpenAI.*does not take option.*'path'"):
        agentnb.connect("openai", base_url=url, provider_options={"path": "/x"}, name="bad")
    with pytest.raises(ConfigurationError, match=r"provider_options must be a dict.*not str"):
        agentnb.connect("vercel", base_url=url, provider_options="/x", name="bad")  # type: ignore[typeddict-item]
    assert "bad" not in agentnb.connections()


def test_a_dialect_s_options_go_in_provider_options() -> None:
    url = "http://127.0.0.1:9"
    conn = agentnb.connect("vercel", base_url=url, provider_options={"path": "/chat"}, name="v")
    assert conn.client().provider.path == "/chat"


def test_a_dialect_s_option_as_a_keyword_of_its_own_says_where_it_goes() -> None:
    url = "http://127.0.0.1:9"
    with pytest.raises(ConfigurationError, match=r"go in provider_options=\{'path': ...\}"):
        agentnb.connect("vercel", base_url=url, path="/chat", name="v")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"go in provider_options=\{'path': ...\}"):
        agentnb.AsyncAgentClient("vercel", base_url=url, path="/chat")  # type: ignore[call-arg]
    assert "v" not in agentnb.connections()


def test_the_built_in_server_s_path_is_kept_beside_a_dialect_option_of_one_s_own() -> None:
    conn = agentnb.connect("a2a", local=True, provider_options={"version": "0.3"}, name="local_a2a")
    provider = conn.client().provider
    assert (provider.options["path"], provider.version) == ("/{agent}", "0.3")


def test_a_connection_keeps_the_key_its_client_sends() -> None:
    """A key read from a file ends in a newline: the connection keeps it as the client sends
    it; a connection around a client given as ``client=`` shows that client's key, masked."""
    conn = agentnb.connect("openai", base_url="http://127.0.0.1:9", api_key=" sk-abcdef123456\n")
    assert conn.api_key == conn.client().api_key == "sk-abcdef123456"
    client = agentnb.AsyncAgentClient("openai", base_url="http://127.0.0.1:9", api_key="k-12345678")
    assert conns.connection_for(client).describe()["api_key"] == "***"
    assert conns.connection_for(client).api_key == "k-12345678"


def _position_value(ticker: str, shares: int) -> str:
    """The value of my position in a stock."""
    return f"{shares} {ticker} shares, worth ${shares * 875.4:,.2f}"


def test_a_run_with_notebook_tools_on_the_default_built_in_server_goes_in_a_dialect_that_carries_them() -> (
    None
):
    handle = agentnb.ask(
        "finance_agent", "What is my NVDA position worth?", tools=[_position_value], display=False
    )
    run = handle.wait(PATIENCE_S)
    assert run.connection == conns.LOCAL_TOOLS_NAME
    assert [c.name for c in run.tool_calls if c.status == "succeeded"] == ["_position_value"]
    assert agentnb.get_connection(conns.LOCAL_TOOLS_NAME).local


def test_a_batch_with_notebook_tools_on_the_default_built_in_server_goes_as_ask_goes() -> None:
    """``batch(..., tools=...)`` (and ``context=True``) with nothing configured takes the
    connection ``ask`` takes, where it once said the default connection cannot send tools."""
    result = agentnb.batch(
        "finance_agent",
        ["What is my NVDA position worth?"],
        tools=[_position_value],
        progress=False,
    )
    (record,) = list(result)
    assert (record.status, record.connection) == ("completed", conns.LOCAL_TOOLS_NAME)
    assert [c.name for c in record.tool_calls if c.status == "succeeded"] == ["_position_value"]


def test_a_connection_of_the_person_s_own_under_the_tools_name_is_never_replaced() -> None:
    agentnb.connect("operativus", local=True, name=conns.LOCAL_TOOLS_NAME)
    with pytest.raises(agentnb.UnsupportedOptionError, match="cannot send tools"):
        agentnb.ask("finance_agent", "What is it worth?", tools=[_position_value], display=False)
