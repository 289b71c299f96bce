"""Round 7 of the notebook's trust: the privacy level and the deny list bind every read.

Issue 66's "Settings that bind one tool": ``configure(deny=[...])`` and
``configure(level="schema")`` bound the variable tools only. Each attempt is made again here
over the in-process tools and ``@`` attachments: a denied frame's rows shown by the cell that
displayed ``customers.head()``, another name for a denied frame, the error a denied frame's
merge raised, and at ``schema`` a cell's literals, an error's message and a file's lines."""

from __future__ import annotations

import linecache
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from agentnb_testing import said_on_page
from context_testing import attach_context

from agentnb import ConfigurationError
from agentnb._app.context import context_summary
from agentnb._app.context.context_summary import ContextSettings, configure
from agentnb._app.context.context_tools import Kernel, context_tools

NONCE = "0123456789abcdef"
CELL_FILE = "/tmp/ipykernel_4242/{}.py"
"""Where ipykernel compiles a cell: a traceback's frame there is the user's."""


@pytest.fixture(autouse=True)
def default_settings() -> Iterator[None]:
    yield
    context_summary._settings = ContextSettings()


def customers() -> pd.DataFrame:
    return pd.DataFrame({"name": ["Ann Privé", "Bo Secretson"], "city": ["Oslo", "Lund"]})


def the_kernel(tmp_path: Path) -> Kernel:
    """A kernel whose cell 2 displayed ``customers.head()``, cell 3 another name for it and
    cell 4 a frame of literals."""
    people = customers()
    cells = [
        "",
        "customers = load()",
        "customers.head()",
        "c = customers\nc",
        "ids = pd.DataFrame({'ssn': ['123-45-6789']}); ids.shape[0] + 41",
    ]
    namespace: dict[str, Any] = {
        "customers": people,
        "c": people,
        "ids": pd.DataFrame({"ssn": ["123-45-6789"]}),
        "In": cells,
        "Out": {2: people.head(), 3: people, 4: 42},
    }
    return Kernel(namespace, cwd=tmp_path)


def reads(kernel: Kernel) -> Callable[..., str]:
    tools = {t.name: t.function for t in context_tools(kernel, NONCE)}

    def read(tool: str, **arguments: Any) -> str:
        function = tools[tool]
        assert function is not None
        return str(function(**arguments))

    return read


def raised_in_a_cell(source: str, namespace: dict[str, Any]) -> None:
    """Run ``source`` as a kernel runs a cell, keeping its exception as IPython does."""
    filename = CELL_FILE.format(abs(hash(source)))
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), namespace)
    except Exception as error:
        sys.last_exc = sys.last_value = error
    else:
        raise AssertionError("the cell did not raise")


@pytest.fixture
def last_error() -> Iterator[None]:
    kept = {name: getattr(sys, name, None) for name in ("last_exc", "last_value")}
    yield
    for name, value in kept.items():
        setattr(sys, name, value)


def test_a_denied_frames_rows_are_not_read_from_the_cells_that_showed_them(
    tmp_path: Path,
) -> None:
    said_on_page(
        "context.md",
        '`configure(deny=["customers", "raw"])` keeps names out of every read: a denied name is '
        "not listed, described or attached, nor is another name for its value (`c = customers`).",
    )
    said_on_page(
        "context.md",
        "Each read takes the settings in force when it is made, in a run that has begun too.",
    )
    kernel = the_kernel(tmp_path)
    read = reads(kernel)  # made before the setting: each read takes the settings in force
    configure(deny=["customers"])
    cells = read("notebook_cells", count=10)
    assert "Privé" not in cells and "Secretson" not in cells
    assert "In[2]: [not read: it names customers, on the context deny list]" in cells
    assert "In[3]: [not read: it names customers, on the context deny list]" in cells
    listing = read("notebook_variables")
    assert "customers" not in listing and "\nc:" not in listing  # c is another name for it
    with pytest.raises(ValueError, match="no variable 'c'"):
        read("notebook_describe", name="c")
    for mention, why in [
        ("@customers", "deny list"),
        ("@c", "holds the value of a name on the context deny list"),
        ("@In[2]", "cell 2 names customers, on the context deny list"),
        ("@Out[2]", "cell 2 names customers, on the context deny list"),
        ("@Out[3]", "cell 3 names customers"),
    ]:
        with pytest.raises(ConfigurationError, match=why):
            attach_context(f"look at {mention}", kernel, NONCE)


def test_an_output_that_is_a_denied_value_is_not_read(tmp_path: Path) -> None:
    said_on_page("context.md", "neither is an output that is its value")
    people = customers()
    kernel = Kernel({"customers": people, "In": ["", "x"], "Out": {1: people}}, cwd=tmp_path)
    configure(deny=["customers"])
    cells = reads(kernel)("notebook_cells")
    assert "Out[1]: [not read: a value on the context deny list]" in cells
    assert "Privé" not in cells


def test_the_error_a_denied_frames_cell_raised_is_sent_without_its_message(
    tmp_path: Path, last_error: None
) -> None:
    said_on_page(
        "context.md",
        "an error whose lines name it is sent without its message and those lines.",
    )
    namespace: dict[str, Any] = {"customers": customers()}
    raised_in_a_cell("customers.loc['Ann Privé', 'nowhere']", namespace)
    kernel = Kernel({**namespace, "In": [""], "Out": {}}, cwd=tmp_path)
    assert "Privé" in reads(kernel)("notebook_error")  # without the setting, it is read
    configure(deny=["customers"])
    for sent in (reads(kernel)("notebook_error"), attach_context("@error", kernel, NONCE)):
        assert "Privé" not in sent and "nowhere" not in sent
        assert "KeyError: [not read: it names customers, on the context deny list]" in sent


def test_at_the_schema_level_no_read_sends_a_value(tmp_path: Path, last_error: None) -> None:
    said_on_page(
        "context.md",
        "It binds every read: the variables, the cells and their outputs, the last error and "
        "the files, as attachments and as tools alike.",
    )
    said_on_page(
        "context.md",
        "| `stats` | and `describe()` of the sample, a number's value, a string's text, a cell's "
        "source as typed, an error's message |",
    )
    (tmp_path / "people.csv").write_text("name,ssn\nAnn,123-45-6789\n")
    raised_in_a_cell("raise ValueError('bad ssn 123-45-6789: ' + str(41 + 1))", {})
    kernel = the_kernel(tmp_path)
    configure(level="schema")
    read = reads(kernel)
    cells = read("notebook_cells", count=10)
    assert "In[4]:\nids = pd.DataFrame({…: […]}); ids.shape[…] + …" in cells
    assert "Out[4]: int\n" in cells + "\n"
    error = read("notebook_error")
    assert "ValueError: [message not sent at the schema level]\n" in error
    assert "  cell, line 1, in <module>\n    raise ValueError(… + str(… + …))" in error
    for sent in (
        cells,
        error,
        read("notebook_describe", name="ids"),
        attach_context("@In[4] @Out[4] @error", kernel, NONCE),
    ):
        assert "123-45-6789" not in sent and "42" not in sent, sent
    with pytest.raises(ValueError, match=r"read at the sample level only .* is schema"):
        read("notebook_read_file", path="people.csv")
    assert "people.csv (25 bytes)" in read("notebook_files")
    configure(level="stats")
    with pytest.raises(ValueError, match=r"read at the sample level only .* is stats"):
        read("notebook_read_file", path="people.csv")
    assert "In[4]:\nids = pd.DataFrame({'ssn'" in read("notebook_cells", count=10)


def test_a_magic_cell_at_the_schema_level(tmp_path: Path) -> None:
    kernel = Kernel({"In": ["", "%timeit -n1 sum(range(3))", "!ls 'secret dir'"]}, cwd=tmp_path)
    configure(level="schema")
    cells = reads(kernel)("notebook_cells")
    assert "In[1]:\n%timeit -n1 sum(range(…))" in cells  # -n1 reads as a name
    assert "secret dir" not in cells


def test_the_deny_list_takes_paths_for_files(tmp_path: Path) -> None:
    said_on_page(
        "context.md",
        "An entry that is not a Python name is a path under the working directory "
        '(`configure(deny=["customers", "data/*.csv", "private/"])`): the files and folders it '
        "matches are neither listed nor read.",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("name\nAnn Privé\n")
    (tmp_path / "data" / "regions.csv").write_text("name\nnorth\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "notes.txt").write_text("Privé\n")
    read = reads(Kernel({}, cwd=tmp_path))
    configure(deny=["customers", "data/customers*", "private/"])
    listing = read("notebook_files", path="data")
    assert "regions.csv" in listing and "customers.csv" not in listing
    assert "private" not in read("notebook_files")
    assert "north" in read("notebook_read_file", path="data/regions.csv")
    for path, pattern in [
        ("data/customers.csv", "data/customers*"),
        ("private/notes.txt", "private/"),
    ]:
        with pytest.raises(
            ValueError, match=rf"matches '{re.escape(pattern)}', on the context deny list"
        ):
            read("notebook_read_file", path=path)
    with pytest.raises(ValueError, match="'private/', on the context deny list"):
        read("notebook_files", path="private")
