"""nbval runs each notebook as a newcomer would: the built-in server (no connection
configured) and an empty run history of its own, so the outputs are reproducible."""

from __future__ import annotations

import os
import tempfile

import pytest

for _key in ("AGENTNB_PROVIDER", "AGENTNB_BASE_URL", "AGENTNB_API_KEY"):
    os.environ.pop(_key, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Runs before the notebook's kernel starts (nbval starts it when its first cell is set up),
    # and the kernel inherits the environment.
    notebook = item.parent
    if notebook is not None and not hasattr(notebook, "agentnb_history"):
        path = os.path.join(tempfile.mkdtemp(prefix="agentnb-nb-"), "history.db")
        notebook.agentnb_history = path  # type: ignore[attr-defined]
        os.environ["AGENTNB_HISTORY"] = path
