"""What docs/context.md and docs/security.md say the notebook's context reads, when, and
never sends: each sentence below is found on its page as written (line breaks aside), and
the code is made to do what it says, here, over the in-process tools."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from agentnb_testing import PATIENCE_S
from context_testing import attach_context

from agentnb._app.context import context_summary, context_tools
from agentnb._app.context.context_summary import ContextSettings, configure, summarize
from agentnb._app.context.context_tools import Kernel
from agentnb._core import secrets as core_secrets
from agentnb._core.call_site import typed_literal
from agentnb._core.secrets import redact_key_shapes, secret_name

DOCS = Path(__file__).parents[2] / "docs"
NONCE = "0123456789abcdef"


def page(name: str) -> str:
    """The page's text, every run of white space one space."""
    return " ".join((DOCS / name).read_text().split())


def said(name: str, sentence: str) -> str:
    """``sentence`` as it is written on page ``name`` (it fails when the page says
    otherwise)."""
    sentence = " ".join(sentence.split())
    assert sentence in page(name), f"{name} no longer says: {sentence}"
    return sentence


def reads(kernel: Kernel) -> Callable[..., str]:
    tools = {t.name: t.function for t in context_tools.context_tools(kernel, NONCE)}

    def read(tool: str, **arguments: Any) -> str:
        function = tools[tool]
        assert function is not None
        return str(function(**arguments))

    return read


@pytest.fixture(autouse=True)
def default_settings() -> Iterator[None]:
    yield
    context_summary._settings = ContextSettings()


class Login(NamedTuple):
    user: str
    password: str


def test_values_under_secret_names_are_never_read_at_any_depth() -> None:
    said(
        "context.md",
        "values under secret-looking names are never read at all, at any depth: a variable "
        "(`db_password: str = *** (not read: its name looks secret)`), a dict key or a "
        "record's attribute (a dataclass, a namespace, a pydantic model, a named tuple) four "
        "levels down or forty (`'password': ***`), a column (its name and dtype are listed, "
        "its values left out of statistics and rows) or a structured array's field, a row of "
        "a frame or a series whose label looks secret, the value of a pair that names it "
        '(`("Authorization", "Bearer …")` in a list of headers);',
    )
    assert summarize("hunter2-hunter2", "db_password") == (
        "db_password: str = *** (not read: its name looks secret)"
    )
    deep: dict[str, Any] = {"password": "forty-levels-down"}
    for level in range(40):
        deep = {f"l{level}": deep}
    held = {
        "cfg": deep,
        "login": Login("bob", "named-tuple-pw"),
        "users": pd.DataFrame({"api_key": ["column-secret"], "n": [1.0]}),
        "accounts": np.array([(1, "field-secret")], dtype=[("id", "i4"), ("password", "U20")]),
        "settings": pd.Series({"host": "db", "token": "row-secret"}),
        "headers": [("Authorization", "Bearer pair-secret")],
    }
    read = reads(Kernel({**held, "note": "forty-levels-down"}))
    assert "forty-levels-down" not in read("notebook_describe", name="note")
    for name in held:
        sent = read("notebook_describe", name=name)
        for secret in ("named-tuple-pw", "column-secret", "field-secret", "row-secret"):
            assert secret not in sent, sent
        assert "pair-secret" not in sent
    assert "api_key — str, 0 null" in read("notebook_describe", name="users")


def test_those_values_are_redacted_wherever_else_they_show(tmp_path: Path) -> None:
    said(
        "context.md",
        "and those values (strings and bytes of 8 characters or more), and the password of a "
        "URL a variable holds, wherever else they show: in the source of the cell that typed "
        "them, in a cell's output, inside another variable, in an error's message, in a file.",
    )
    (tmp_path / "log.txt").write_text("logged in with typed-secret-1 via dsn-pw-123\n")
    namespace: dict[str, Any] = {
        "db_password": "typed-secret-1",
        "DSN": "postgres://app:dsn-pw-123@db/sales",
        "note": ["typed-secret-1", "dsn-pw-123"],
        "In": ["", "login('bob', 'typed-secret-1')", "note[0] + ' ' + note[1]"],
        "Out": {2: "typed-secret-1 dsn-pw-123"},
    }
    kernel = Kernel(namespace, cwd=tmp_path)
    read = reads(kernel)
    try:
        raise PermissionError("refused typed-secret-1 and dsn-pw-123")
    except PermissionError as error:
        kept = {name: getattr(sys, name, None) for name in ("last_exc", "last_value")}
        sys.last_exc = sys.last_value = error
    try:
        sent = [
            read("notebook_cells"),
            read("notebook_describe", name="note"),
            read("notebook_error"),
            read("notebook_read_file", path="log.txt"),
        ]
    finally:
        for name, value in kept.items():
            setattr(sys, name, value)
    for text in sent:
        assert "typed-secret-1" not in text and "dsn-pw-123" not in text and "***" in text, text


def test_the_key_shapes_and_the_values_written_beside_secret_names() -> None:
    said(
        "context.md",
        "known key shapes, wherever they sit: OpenAI and Anthropic `sk-…`, Stripe `sk_live_…` "
        "/ `rk_live_…`, Google `AIza…`, Hugging Face `hf_…`, GitLab `glpat-…`, GitHub `ghp_…` "
        "/ `github_pat_…`, AWS `AKIA…`, Slack `xox…-…`, JWTs, PEM private key blocks, and "
        "the password of a URL (`postgres://app:***@db`, a git remote's token);",
    )
    assert redact_key_shapes("postgres://app:pw-1@db") == "postgres://app:***@db"
    written = said(
        "context.md",
        '`db_password = "***"`, `"token": "***"`, `password: ***`, `API_KEY=***`, `auth = ***`',
    )
    typed = {
        'db_password = "***"': 'db_password = "hunter-2"',
        '"token": "***"': '"token": "hunter-2"',
        "password: ***": "password: hunter-2",
        "API_KEY=***": "API_KEY=hunter-2",
        "auth = ***": 'auth = ("bob", "hunter-2")',
    }
    assert list(typed) == re.findall(r"`([^`]+)`", written)
    for shown, text in typed.items():
        assert redact_key_shapes(text) == shown, text


def test_names_are_judged_by_their_words() -> None:
    sentence = said(
        "context.md",
        "So `db_pass`, `PGPASSWORD`, `credentials` and `auth` look secret, and `author`, "
        "`tokenizer`, `sort_key` and `max_tokens` do not.",
    )
    secret, plain = sentence.split("look secret")
    assert all(secret_name(n) for n in re.findall(r"`(\w+)`", secret))
    assert not any(secret_name(n) for n in re.findall(r"`(\w+)`", plain))


def test_past_the_searchs_cap_what_is_read_is_withheld(monkeypatch: pytest.MonkeyPatch) -> None:
    said(
        "context.md",
        "It looks at 10,000,000 items at most (a flat run of them at C speed) and keeps "
        "10,000 values at most; a notebook holding more is not searched to its end, and "
        "then what is read is withheld to what the `schema` level sends, with a line "
        "saying why: nothing the search did not see is sent.",
    )
    assert (core_secrets.SECRET_SEARCH_ITEMS, core_secrets.SECRET_VALUES) == (10**7, 10**4)
    monkeypatch.setattr(core_secrets, "SECRET_VALUES", 3)
    kernel = Kernel({"tokens": {f"api_token_{i}": f"unseen-secret-{i}" for i in range(5)}})
    sent = reads(Kernel({**kernel.namespace, "note": "some text"}))(
        "notebook_describe", name="note"
    )
    assert "past what is searched for secrets" in sent and "some text" not in sent


def test_the_privacy_level_binds_the_cells_the_error_and_the_files(tmp_path: Path) -> None:
    said(
        "context.md",
        "| `schema` | names, types, dtypes, shapes, null counts; a cell's source without its "
        "literal values (`ids = pd.DataFrame({…: […]})`), an error's type and lines without "
        "its message; no file's lines |",
    )
    (tmp_path / "rows.csv").write_text("a\n1\n")
    kernel = Kernel({"In": ["", "ids = pd.DataFrame({'ssn': ['1-2']})"]}, cwd=tmp_path)
    configure(level="schema")
    assert "ids = pd.DataFrame({…: […]})" in reads(kernel)("notebook_cells")
    with pytest.raises(ValueError, match="read at the sample level only"):
        reads(kernel)("notebook_read_file", path="rows.csv")


def test_the_deny_list_binds_every_read(tmp_path: Path) -> None:
    said(
        "context.md",
        "A cell whose source names it is listed without its source or output (`In[2]: [not "
        "read: it names customers, on the context deny list]`), so the rows "
        "`customers.head()` displayed are not sent",
    )
    said("context.md", "Each read takes the settings in force when it is made")
    frame = pd.DataFrame({"name": ["Ann Privé"]})
    kernel = Kernel({"customers": frame, "In": ["", "x", "customers.head()"], "Out": {2: frame}})
    read = reads(kernel)
    configure(deny=["customers"])
    cells = read("notebook_cells")
    assert "In[2]: [not read: it names customers, on the context deny list]" in cells
    assert "Privé" not in cells


def test_the_approval_names_what_a_read_will_read_and_runs_nothing() -> None:
    said(
        "context.md",
        "reads the notebook once approved, at the sample level: a summary of the variable "
        "customers (pandas DataFrame)",
    )
    said(
        "context.md",
        "made without running any of your code (no `repr`, no property)",
    )
    said("security.md", "nothing of your code runs for a read before you decide")

    class Loud(pd.DataFrame):
        def __repr__(self) -> str:
            raise AssertionError("the question ran the user's repr")

    kernel = Kernel({"customers": Loud({"a": [1]})})
    tools = context_tools.context_tools(kernel, NONCE)
    preview = next(t.preview for t in tools if t.name == "notebook_describe")
    assert preview is not None
    said_now = preview({"name": "customers"})
    assert said_now.startswith(
        "reads the notebook once approved, at the sample level: a summary of the variable "
        f"customers ({__name__} "
    )
    assert said_now.endswith("Loud)")


def test_a_summary_given_up_on_is_stopped() -> None:
    said(
        "context.md",
        "A summary given up on is stopped (an exception is raised in its thread), so it does "
        "not run on after the read",
    )
    said(
        "context.md",
        "`notebook_cells` summarizes outputs for 4.5 s at most, each within its 1.5 s",
    )
    assert (context_tools.CELLS_TIME, context_summary.ITEM_TIME_LIMIT) == (4.5, 1.5)
    turns = [0]

    class Spins:
        def __repr__(self) -> str:
            while True:
                turns[0] += 1

    assert summarize(Spins(), "s") == "s: Spins <repr timed out>"
    deadline = time.monotonic() + PATIENCE_S
    before = -1
    while turns[0] != before and time.monotonic() < deadline:
        before = turns[0]
        time.sleep(0.5)
    assert turns[0] == before


def test_folders_and_files_that_hold_secrets_as_the_page_lists_them(tmp_path: Path) -> None:
    folders = said(
        "context.md",
        "folders that hold secrets are listed in their parent and never listed inside nor "
        "read: `.git` (a remote's URL may carry a token), `.ssh`, `.aws`, `.docker`, "
        "`.kube`, `.gnupg`, `.azure`, `.gcloud`, `.config/gcloud`, `.terraform`, `.vault`, "
        "`.password-store`, `secret`, `secrets`, `credentials`;",
    )
    files = said(
        "context.md",
        "files that may hold secrets are listed but never read: `.env`, `.env.*`, `.netrc`, "
        "`.pgpass`, `.npmrc`, `.pypirc`, `.git-credentials`, `.my.cnf`, `kubeconfig`, "
        "`id_rsa` and its kin, `service-account*.json`, `*.pem`, `*.key`, `*.p12`, `*.pfx`, "
        "`*.jks`, `*.ppk`, `*.kdbx`, `*.tfstate`, `*.tfvars`, and names saying secret, "
        "credential, password or token;",
    )
    read = reads(Kernel({}, cwd=tmp_path))
    for folder in re.findall(r"`([^`]+)`", folders):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "notes.txt").write_text("x\n")
        with pytest.raises(ValueError, match="a folder that holds secrets"):
            read("notebook_read_file", path=f"{folder}/notes.txt")
    for name in re.findall(r"`([^`]+)`", files):
        path = tmp_path / name.replace("*", "prod")
        path.write_text("x\n")
        with pytest.raises(ValueError, match="is never read: it may hold secrets"):
            read("notebook_read_file", path=path.name)
    said(
        "context.md",
        "'.git/config' is never read: it is inside .git/, a folder that holds secrets",
    )
    (tmp_path / ".git" / "config").write_text("[core]\n")
    with pytest.raises(ValueError, match="holds secrets") as refused:
        read("notebook_read_file", path=".git/config")
    assert str(refused.value) == (
        "'.git/config' is never read: it is inside .git/, a folder that holds secrets"
    )


def test_text_not_typed_attaches_nothing() -> None:
    said(
        "context.md",
        "There `@` attaches nothing: the message goes as it is, and a handle naming no "
        "variable (`@bob_smith`) stays text and raises nothing.",
    )
    said(
        "context.md",
        "a message passed through a function of yours is text there, until `mentions=True` "
        "says otherwise.",
    )
    said(
        "context.md",
        "The same holds for what `{{name}}` puts into a magic's body (the body you typed "
        "attaches, the text put into it does not) and for a follow-up chip, the agent's own "
        "suggestion.",
    )  # held by the kernel's test_mentions_attach_only_where_they_were_typed (a magic) and
    # test_controller's test_a_followup_chip_is_the_agents_text_and_attaches_nothing
    kernel = Kernel({"cfg": {"a": 1}})
    review = "cc @cfg @bob_smith"
    assert attach_context(review, kernel, NONCE, mentions="text") == review
    namespace: dict[str, Any] = {"__name__": "agentnb.fake", "typed_literal": typed_literal}
    exec("def ask(agent, message):\n    return typed_literal(message, 1, 'message')", namespace)
    ask = namespace["ask"]

    def mine(message: str) -> bool:
        return bool(ask("a", message))

    assert ask("a", "cc @cfg") and not mine("cc @cfg")


def test_securitys_account_of_the_notebook_as_context(tmp_path: Path) -> None:
    """docs/security.md's paragraph on the notebook as context, each of its claims made here
    (the kernel's tests make them again in a real kernel)."""
    said(
        "security.md",
        "values under secret-looking names are not read at any depth (a dict four levels down, "
        "a frame's cell, a record's attribute, a named tuple's field, bytes, a tuple, a pair "
        'such as `("password", …)`), secret environment values and the common providers\' key '
        "shapes (`sk-`, `sk_live_`, `AIza`, `hf_`, `glpat-`, `ghp_`, `AKIA`, `xox`, JWTs, PEM "
        "keys, a URL's password) are redacted wherever they show, and past the walk's cap "
        "values are withheld.",
    )
    held: dict[str, Any] = {
        "cfg": {"prod": {"db": {"conn": {"password": "sec-four-down"}}}},
        "frame": pd.DataFrame({"prefs": ['{"token": "sec-frame-cell"}']}),
        "login": Login("bob", "sec-named-field"),
        "blob": {"api_key": b"sec-bytes-value"},
        "auth": ("bob", "sec-tuple-value"),
        "query": [("password", "sec-pair-value")],
    }
    note = "sk_live_" + "a1" * 12 + " AIza" + "b2" * 18 + " postgres://u:sec-url-pw@db"
    read = reads(Kernel({**held, "note": note, "In": ["", *held], "Out": {}}))
    sent = "\n".join(read("notebook_describe", name=name) for name in [*held, "note"])
    sent += read("notebook_cells", count=20)
    assert "sec-" not in sent and "a1a1" not in sent and "b2b2" not in sent, sent
    said(
        "security.md",
        "The privacy level and the deny list bind every read (cells, outputs, errors, files), "
        "files are judged by their path (`.git/`, `.ssh/`, `secrets/`, `.env*`, `*.pem`...), "
        "and `@name` is expanded only where you typed it.",
    )  # each held above: test_the_privacy_level_binds..., test_the_deny_list_binds_every_read,
    # test_folders_and_files_that_hold_secrets_as_the_page_lists_them, test_text_not_typed...
    configure(level="schema", deny=["cfg"])
    kernel = Kernel({"cfg": {"a": 1}, "In": ["", "cfg['a']"], "Out": {1: 1}}, cwd=tmp_path)
    (tmp_path / "rows.csv").write_text("a\n1\n")
    read = reads(kernel)
    assert "In[1]: [not read: it names cfg, on the context deny list]" in read("notebook_cells")
    with pytest.raises(ValueError, match="read at the sample level only"):
        read("notebook_read_file", path="rows.csv")
    said(
        "security.md",
        "It reaches the agent inside a per-run-nonced block that says it is data, and each read "
        "asks first, naming what it will read",
    )
    assert read("notebook_variables").startswith(f'<notebook-data id="{NONCE}">\nRead from')
    tools = context_tools.context_tools(kernel, NONCE)
    assert all(tool.approve and tool.preview is not None for tool in tools)  # asks, naming it
