"""``%agent_config --tracing``: the notebook switch, through a real IPython shell, exporting
a magic's run over OTLP/HTTP to a local collector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from tracing_testing import OtlpReceiver

import agentnb
from agentnb._app.front import connections as conns
from agentnb._tracing import flush_tracing
from agentnb.server import ServerHandle

pytestmark = pytest.mark.usefixtures("tracing_seam")


@pytest.fixture
def shell(server: ServerHandle) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    conns.close_all()
    agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="traced")
    yield ip
    conns.close_all()


def config(shell: InteractiveShell, line: str) -> Any:
    return shell.run_line_magic("agent_config", line)


def test_agent_config_turns_tracing_on_and_off(shell: InteractiveShell) -> None:
    assert "tracing=off" in repr(config(shell, ""))
    with OtlpReceiver() as collector:
        view = config(shell, f"--tracing {collector.url} --trace-content")
        assert f"tracing=on → OTLP/HTTP {collector.url}/v1/traces" in repr(view)
        assert "content on" in repr(view) and "tracing=on" in view._repr_html_()
        shell.run_line_magic("agent", "echo --via traced --wait traced from a magic")
        assert flush_tracing(timeout=PATIENCE_S)
        [span] = [s for s in collector.spans if s.name == "invoke_agent echo"]
        assert "traced from a magic" in span.attributes["gen_ai.input.messages"]
        assert "tracing=off" in repr(config(shell, "--tracing off"))


def test_agent_config_refuses_what_it_cannot_follow(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="neither on/off nor an http"):
        config(shell, "--tracing phoenix")
    with pytest.raises(UsageError, match="goes with --tracing"):
        config(shell, "--trace-content")
