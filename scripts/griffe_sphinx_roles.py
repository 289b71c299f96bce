"""Griffe extensions for the docs site's API reference.

``SphinxRoles``: agentnb's docstrings cite other objects with Sphinx roles
(:class:`~agentnb.types.RunOptions`, :meth:`stream`), which Markdown would show as they are
typed. Each becomes a code span of the name a reader knows: the last part with ``~``, the
whole name without it.

``EvalsPackage``: ``agentnb.evals`` is agentnb-evals' (``evals/agentnb/evals``), which the
core's package finds on the path at run time (``pkgutil.extend_path``); griffe reads one
directory a package, so it is loaded into the core's ``agentnb`` as its submodule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    short, name = match.group(1), match.group(2)
    return f"`{name.rsplit('.', 1)[-1] if short else name}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_plain, obj.docstring.value)


EVALS = Path(__file__).resolve().parent.parent / "evals" / "agentnb" / "evals" / "__init__.py"


class EvalsPackage(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name == "agentnb" and "evals" not in pkg.members:
            # griffe's own way in for a submodule, given its path, then for its submodules
            loader._load_submodule(pkg, ("evals",), EVALS)
            loader._load_submodules(pkg.members["evals"])
