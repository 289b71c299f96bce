"""A griffe extension for the docs site's API reference: agentnb's docstrings cite other
objects with Sphinx roles (:class:`~agentnb.types.RunOptions`, :meth:`stream`), which Markdown
would show as they are typed. Each becomes a code span of the name a reader knows: the last
part with ``~``, the whole name without it."""

from __future__ import annotations

import re
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
