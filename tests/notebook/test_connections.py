import pytest

import agentnb
from agentnb import ConfigurationError
from agentnb._app import connections as conns


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
