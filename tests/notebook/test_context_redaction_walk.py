"""Round 7 of the notebook's trust: one redaction walk every read and every depth shares.

Each attempt of issue 66's "Secrets one step deeper" and "Shapes and names missed" is made
again here over the in-process tools (``context_tools`` over a namespace, as the kernel's
are) and an ``@name`` attachment: a value under a secret-looking name four levels down, in a
DataFrame cell holding JSON or a dict, held as bytes, in a tuple, after 20,000 other items;
names judged by their words; the common providers' key shapes, a DSN's password and a PEM
key, wherever they sit. Past the search's hard cap, values are withheld, never leaked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from agentnb_testing import said_on_page
from context_testing import attach_context

from agentnb._app.context import context_summary
from agentnb._app.context.context_summary import ContextSettings, summarize
from agentnb._app.context.context_tools import Kernel, context_tools
from agentnb._core import secrets as core_secrets
from agentnb._core.secrets import SecretSearch, redact_key_shapes, secret_name

NONCE = "0123456789abcdef"


@pytest.fixture(autouse=True)
def default_settings() -> Iterator[None]:
    yield
    context_summary._settings = ContextSettings()


def reads(namespace: dict[str, Any], tmp_path: Path | None = None) -> Callable[..., str]:
    """The read-only tools over ``namespace``: ``read("notebook_describe", name="x")``."""
    kernel = Kernel(namespace, cwd=tmp_path or Path.cwd())
    tools = {t.name: t.function for t in context_tools(kernel, NONCE)}

    def read(tool: str, **arguments: Any) -> str:
        function = tools[tool]
        assert function is not None
        return str(function(**arguments))

    return read


def everything(namespace: dict[str, Any], name: str) -> str:
    """What every read of ``name`` sends: described, attached, and its cell's output."""
    read = reads(namespace)
    return "\n".join(
        [
            read("notebook_describe", name=name),
            read("notebook_cells", count=20),
            attach_context(f"@{name}", Kernel(namespace), NONCE),
        ]
    )


DEEP = "deep-password-4-levels"


def test_a_value_four_levels_down_under_a_secret_key_is_never_sent() -> None:
    cfg = {"prod": {"db": {"conn": {"password": DEEP, "host": "db.internal"}}}}
    namespace = {"cfg": cfg, "In": ["", "cfg", "str(cfg)"], "Out": {1: cfg, 2: str(cfg)}}
    sent = everything(namespace, "cfg")
    assert DEEP not in sent
    assert "'password': ***" in sent and "db.internal" in sent  # the rest is read
    # and deeper than a summary shows: found to redact wherever else it shows
    deeper: dict[str, Any] = {"token": "deeper-than-shown-1"}
    for level in range(40):
        deeper = {f"level{level}": deeper}
    namespace = {"nested": deeper, "note": "the value: deeper-than-shown-1"}
    assert "deeper-than-shown-1" not in reads(namespace)("notebook_describe", name="note")


def test_a_frame_cell_holding_json_or_a_dict_is_searched() -> None:
    frame = pd.DataFrame(
        {
            "user": ["ann", "bob"],
            "settings": ['{"password": "json-cell-secret", "theme": "dark"}', "{}"],
            "extra": [{"api_key": "dict-cell-secret"}, {"theme": "light"}],
        }
    )
    namespace = {"users": frame, "note": "leaked dict-cell-secret", "In": [""], "Out": {}}
    read = reads(namespace)
    described = read("notebook_describe", name="users")
    assert "json-cell-secret" not in described and "dict-cell-secret" not in described
    assert '"password": "***"' in described and "'api_key': ***" in described
    assert "dark" in described and "ann" in described
    assert "dict-cell-secret" not in read("notebook_describe", name="note")


def test_a_frame_of_settings_hides_the_rows_named_like_secrets() -> None:
    settings = pd.Series({"host": "db.internal", "password": "series-row-secret"})
    frame = pd.DataFrame({"value": ["db.internal", "frame-row-secret"]}, index=["host", "token"])
    read = reads({"s": settings, "f": frame, "In": [""], "Out": {}})
    assert "series-row-secret" not in read("notebook_describe", name="s")
    assert "frame-row-secret" not in read("notebook_describe", name="f")
    assert "db.internal" in read("notebook_describe", name="f")


def test_bytes_tuples_and_credentials_are_held_like_strings() -> None:
    namespace: dict[str, Any] = {
        "cfg": {"api_key": b"bytes-secret-value", "user": "ann"},
        "auth": ("bob", "tuple-password-1"),
        "credentials": {"pass": "credentials-pass-1"},
        "conn": {"auth": ("bob", "tuple-password-2")},
        "note": "b'bytes-secret-value' tuple-password-1 tuple-password-2 credentials-pass-1",
        "In": ["", 'auth = ("bob", "pw")\ncredentials = {"pass": "pw2"}'],
        "Out": {},
    }
    read = reads(namespace)
    for name in namespace:
        if name in ("In", "Out"):
            continue
        sent = read("notebook_describe", name=name)
        for secret in ("bytes-secret-value", "tuple-password", "credentials-pass-1"):
            assert secret not in sent, (name, sent)
    assert "auth: tuple = *** (not read: its name looks secret)" in read(
        "notebook_describe", name="auth"
    )
    cells = read("notebook_cells")
    assert "auth = ***" in cells and "credentials = ***" in cells and '"pw' not in cells


def test_a_secret_after_twenty_thousand_other_items_is_found() -> None:
    big: dict[str, Any] = {f"k{i}": i for i in range(30_000)}
    big["db"] = {"password": "after-many-items-1"}
    rows = [{"id": i} for i in range(25_000)] + [{"token": "after-many-items-2"}]
    namespace = {
        **{f"x{i:05}": i for i in range(25_000)},
        "big": big,
        "rows": rows,
        "note": "after-many-items-1 and after-many-items-2",
    }
    assert "after-many" not in reads(namespace)("notebook_describe", name="note")


def test_past_the_searchs_cap_values_are_withheld_not_leaked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert core_secrets.SECRET_SEARCH_ITEMS == 10_000_000  # docs/context.md says so
    monkeypatch.setattr(core_secrets, "SECRET_SEARCH_ITEMS", 1_000)
    namespace = {
        "filler": [{"id": i} for i in range(2_000)],
        "hidden": {"token": "past-the-cap-secret"},
        "note": "past-the-cap-secret",
        "In": ["", "note = 'past-the-cap-secret'"],
        "Out": {},
    }
    read = reads(namespace)
    for sent in (read("notebook_describe", name="note"), read("notebook_cells")):
        assert "past-the-cap-secret" not in sent
        assert "past what is searched for secrets" in sent
    assert "note: str, 19 characters\n" in read("notebook_describe", name="note") + "\n"


@dataclass
class Settings:
    host: str
    db_password: str


def test_a_records_attributes_are_names_too() -> None:
    namespace = {
        "settings": Settings("db.internal", "record-secret-1"),
        "ns": SimpleNamespace(api_key="record-secret-2", region="eu"),
        "note": "record-secret-1 record-secret-2",
    }
    read = reads(namespace)
    described = read("notebook_describe", name="settings") + read("notebook_describe", name="ns")
    assert "record-secret" not in described
    assert "db.internal" in described and "db_password=***" in described
    assert "record-secret" not in read("notebook_describe", name="note")


class Login(NamedTuple):
    user: str
    password: str


def test_a_named_tuples_fields_and_a_structured_arrays_fields_are_names_too() -> None:
    """A named tuple is a record (``Login(user, password)``), a structured array's field a
    column (``dtype=[("id", "i4"), ("password", "U20")]``): values under their secret names
    are never read, wherever else they show."""
    accounts = np.array(
        [(1, "struct-field-secret"), (2, "pw-1")], dtype=[("id", "i4"), ("password", "U40")]
    )
    namespace = {
        "login": Login("bob", "named-tuple-secret"),
        "short": Login("ann", "pw-2"),
        "accounts": accounts,
        "api_keys": np.array(["numpy-text-secret"]),
        "note": "named-tuple-secret struct-field-secret numpy-text-secret",
        "In": [""],
        "Out": {},
    }
    read = reads(namespace)
    for name in ("login", "accounts", "api_keys", "note"):
        sent = read("notebook_describe", name=name)
        for secret in ("named-tuple-secret", "struct-field-secret", "numpy-text-secret"):
            assert secret not in sent, sent
    assert "Login(user='bob', password=***)" in read("notebook_describe", name="login")
    assert "pw-2" not in read("notebook_describe", name="short")  # short, and never read
    described = read("notebook_describe", name="accounts")
    assert "values not read (their names look secret): password" in described
    assert "pw-1" not in described and "first values: (1,), (2,)" in described


def test_a_name_and_its_value_held_as_a_pair_are_held_like_a_dict() -> None:
    """``[("Authorization", "Bearer …")]`` (headers as a list of pairs), ``{("token",
    "…")}``, ``parse_qsl``'s answer: the value of a pair whose first item is a secret-looking
    name is held as a dict's value under that key is."""
    namespace = {
        "headers": [("Accept", "text/plain"), ("Authorization", "pair-secret-value-1")],
        "pairs": {("token", "pair-secret-value-2")},
        "query": [("user", "bob"), ("password", "pair-secret-value-3")],
        "note": "pair-secret-value-1 pair-secret-value-2 pair-secret-value-3",
        "In": [""],
        "Out": {},
    }
    read = reads(namespace)
    for name in ("headers", "pairs", "query", "note"):
        assert "pair-secret-value" not in read("notebook_describe", name=name), name
    assert "text/plain" in read("notebook_describe", name="headers")


def test_an_authorization_header_written_as_text_is_redacted_whole() -> None:
    """``Authorization: Bearer <token>`` in a cell, a log line or a file: the token after the
    scheme is the secret, not the scheme's word."""
    for written in (
        "Authorization: Bearer header-token-value-1",
        "authorization=Basic header-token-value-1",
        '{"Authorization": "Bearer header-token-value-1"}',
    ):
        shown = redact_key_shapes(written)
        assert "header-token-value-1" not in shown and "***" in shown, shown


def test_the_search_runs_none_of_the_users_code() -> None:
    said_on_page(
        "context.md",
        "The kernel is searched for those values at each read by one walk over its values, at "
        "any depth, that runs none of your code (a container is read through its built-in "
        "type: an override of `__iter__` is not called).",
    )
    ran: list[str] = []

    class Loud(dict[str, Any]):
        def __iter__(self) -> Any:
            ran.append("iter")
            return super().__iter__()

        def items(self) -> Any:
            ran.append("items")
            return super().items()

        def values(self) -> Any:
            ran.append("values")
            return super().values()

    class Listed(list[Any]):
        def __iter__(self) -> Any:
            ran.append("list iter")
            return super().__iter__()

    found = SecretSearch().search(
        [("cfg", Loud(token="loud-secret-value")), ("rows", Listed([{"pwd": "list-secret-1"}]))]
    )
    assert set(found.values) == {"loud-secret-value", "list-secret-1"} and found.complete
    assert ran == []


SECRET_NAMES = [
    *("db_pass", "passwd", "pwd", "secret", "token", "api_key", "credentials", "auth"),
    *("apiKey", "dbPassword", "PGPASSWORD", "clientSecret", "refresh_tokens", "secretkey"),
    *("OPENAI_API_KEY", "x_auth", "cookie", "db_creds", "passphrase", "access_token"),
]
PLAIN_NAMES = [
    *("author", "tokenizer", "sort_key", "max_tokens", "keys", "key", "secretary"),
    *("passenger", "compass", "tokens", "monkey", "keyboard", "cfg", "primary_key"),
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_names_are_judged_by_their_words(name: str) -> None:
    assert secret_name(name)
    sent = reads({name: "word-judged-secret", "In": [""], "Out": {}})(
        "notebook_describe", name=name
    )
    assert "word-judged-secret" not in sent and "not read: its name looks secret" in sent


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_only_contain_a_secret_word_are_read(name: str) -> None:
    assert not secret_name(name)
    assert "plain-value" in reads({name: "plain-value"})("notebook_describe", name=name)


KEY_SHAPES = {
    "Stripe": "sk_live_51Habcdefghijklmnop0123456789",
    "Stripe restricted": "rk_live_51Habcdefghijklmnop0123456789",
    "Google": "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
    "Hugging Face": "hf_abcdefghijklmnopqrstuvwxyzABCDEF",
    "GitLab": "glpat-abcdefghij0123456789",
    "GitHub": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "GitHub fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "AWS": "AKIAIOSFODNN7EXAMPLE",
    "Slack": "xoxb-123456789012-abcdefghijkl",
    "Slack app": "xapp-1-A0123456789-abcdefghijkl",
    "OpenAI": "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "Anthropic": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "PEM": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----",
}


@pytest.mark.parametrize("kind", sorted(KEY_SHAPES))
def test_the_common_providers_key_shapes_are_redacted_wherever_they_sit(
    kind: str, tmp_path: Path
) -> None:
    key = KEY_SHAPES[kind]
    (tmp_path / "notes.txt").write_text(f"the key is {key} ok\n")
    namespace = {
        "text": f"the key is {key} ok",
        "frame": pd.DataFrame({"note": [f"the key is {key} ok"]}),
        "items": [f"the key is {key} ok"],
        "In": ["", f"client = connect('{key}')"],
        "Out": {},
    }
    read = reads(namespace, tmp_path)
    sent = [
        read("notebook_describe", name="text"),
        read("notebook_describe", name="frame"),
        read("notebook_describe", name="items"),
        read("notebook_cells"),
        read("notebook_read_file", path="notes.txt"),
    ]
    for text in sent:
        assert key[:12] not in text and "***" in text, text


def test_a_urls_password_is_redacted() -> None:
    text = (
        "postgres://app:dsn-password-1@db.internal:5432/sales "
        "https://bob:ghs-remote-token@github.com/acme/repo.git"
    )
    assert redact_key_shapes(text) == (
        "postgres://app:***@db.internal:5432/sales https://bob:***@github.com/acme/repo.git"
    )
    assert "dsn-password-1" not in summarize(text, "dsn")
    namespace = {
        "DSN": "postgresql://app:dsn-password-2@db.internal/sales",
        "In": ["", 'DSN = "postgresql://app:" + "dsn-password-2" + "@db.internal/sales"'],
        "Out": {},
        "note": "login refused with dsn-password-2",
    }
    read = reads(namespace)
    for sent in (read("notebook_cells"), read("notebook_describe", name="note")):
        assert "dsn-password-2" not in sent and "***" in sent, sent


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ('db_password = "typed-1"', 'db_password = "***"'),
        ("db_password: str = 'typed-2'", "db_password: str = '***'"),
        ("{'prod': {'db': {'password': 'typed-3'}}}", "{'prod': {'db': {'password': '***'}}}"),
        ('auth = ("bob", "typed-4")', "auth = ***"),
        ('credentials = {"pass": "typed-5"}', "credentials = ***"),
        ("password: typed-6 # yaml", "password: *** # yaml"),
        ("DB_PASSWORD=typed-7", "DB_PASSWORD=***"),
        ('login(user="bob", pwd="typed-8")', 'login(user="bob", pwd="***")'),
        ('"db_password = \\"typed-9\\"\\n",', '"db_password = \\"***\\"\\n",'),
        ("token = tokenizer(text)", "token = tokenizer(text)"),
        ('password = os.environ["PW"]', 'password = os.environ["PW"]'),
    ],
)
def test_a_value_written_beside_a_secret_name_is_redacted(written: str, shown: str) -> None:
    assert redact_key_shapes(written) == shown


@pytest.mark.parametrize(
    "text",
    ["a" * 100_000, "a.b.c-" * 20_000, "http://" * 20_000, "password:" * 20_000, "x=(" * 30_000],
)
def test_the_text_rules_read_a_hostile_text_once(text: str) -> None:
    """No rule backtracks over a long run (a run read again from each of its characters
    would take minutes here): each of these ends, whatever its time."""
    assert redact_key_shapes(text)
