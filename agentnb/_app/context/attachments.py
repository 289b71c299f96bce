"""``@name`` in a message sent from a notebook attaches a summary of what it names in the
live kernel (the syntax beside :mod:`.interpolate`'s ``{{name}}``, which sends ``str()``).

- ``@df`` a variable, ``@df.revenue`` one column of a frame (or one attribute);
- ``@error`` the last exception, ``@In[3]`` / ``@Out[3]`` a cell and its output;
- ``@./prices.py``, ``@src/io.py`` (a mention with a ``/``) the first lines of a text file
  under the working directory, read as ``notebook_read_file`` reads one (the same judgement
  of what may be read, the same redaction);
- ``@@`` sends a literal ``@``; an ``@`` inside a word (``a@b.com``) or inside backticks is
  left alone.

A mention is expanded only where the person typed it (:data:`Mentions`): in a magic cell,
the chat cell's input, a message written as a literal in the cell (``ask("a", "@df?")``,
:func:`~agentnb._core.call_site.typed_literal`); never in text made at run time (an
f-string, a variable holding a scraped review: ``"… cc @cfg @In[1]"``) unless asked
(``mentions=True``, or ``attach=`` naming what to attach). There an unknown name is refused
before anything is sent, naming the near ones; in text asked to be read for mentions it
stays as text. The summaries come from the one summarizer (:mod:`.context_summary`) and go
after the message, inside the run's nonced data block; the request also carries them one by
one (:class:`~agentnb._core.request.Attachments`, each in the same block), for a dialect that
sends each as a content block of its own (ACP's ``resource``).

The chat cell's input shows them before sending (:class:`KernelAttachments`: each mention's
exact text, what the message would carry) and a mention removed there is sent as written
without its summary (``@df`` becomes ``@@df``, a literal ``@df``).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Final, Literal
from urllib.parse import quote

from ..._core.client_tools import AskedFirst, tool
from ..._core.exceptions import ConfigurationError
from ..._core.figure_reading import is_figure
from ..._core.request import Attachment, Attachments, Media, RunRequest
from ..._core.secrets import FoundSecrets
from ..._core.text import did_you_mean
from ..._display.attachment_preview import RefusedMentions
from .context_summary import (
    TURN_IMAGES,
    ContextSettings,
    bounded,
    context_settings,
    cut,
    data_block,
    figure_image,
    new_nonce,
    searched,
    summarize,
    within_turn,
)
from .context_tools import (
    NO_KERNEL,
    Kernel,
    cell_source,
    context_tools,
    denied_in,
    denied_value,
    file_head,
    kernel_secrets,
    last_error,
    running_kernel,
    user_variables,
)

__all__ = [
    "PREVIEW_CHARS",
    "KernelAttachments",
    "Mentions",
    "NotebookTurn",
    "as_text",
    "asked_first",
    "asks_first",
    "attached",
    "notebook_context",
    "typed_message",
    "with_attachments",
]

Mentions = Literal["typed", "asked", "text"]
"""How a message's ``@`` mentions are read: ``typed`` (the person wrote it: each attaches, an
unknown name is refused), ``asked`` (text not typed, read for mentions as asked: each known
name attaches, the rest stay text), ``text`` (text not typed: none attaches, the message
goes as it is)."""

typed_message: ContextVar[bool] = ContextVar("agentnb_typed_message", default=False)
"""Set by the magics around the run their cell starts: its message was typed."""

ATTACHMENTS_DENIED: Final = "attachments_denied"
"""The error code of a run whose attachments were denied before anything was sent."""

PREVIEW_CHARS: Final = 20_000
"""The longest message the chat cell's input has its attachments shown for."""

_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)
_MENTION = re.compile(
    r"(?<![\w@])@(?:(?P<at>@)|(?P<cells>In|Out)\[(?P<number>\d{1,9})\]"
    r"|(?P<path>(?:[\w.-]+/)+[\w.-]*[\w-])"
    r"|(?P<name>[A-Za-z_]\w*)(?:\.(?P<attr>[A-Za-z_]\w*))?)"
)
"""A mention: ``@@``, a cell, a path (it has a ``/``: ``@./prices.py``), a name."""
MAX_FILE_LINES: Final = 1_000
"""The most lines of a file an ``@./file`` mention attaches (and the item budget's
characters at most)."""


@dataclass(frozen=True)
class NotebookTurn:
    """One turn as sent from an IPython session: the ``message`` with its attachments in its
    data block, the run's ``tools`` (the context tools after the caller's) and the ``media``
    its attachments add (each attached figure's image, on a dialect that takes images)."""

    message: str
    tools: Any = None
    media: tuple[Media, ...] = ()
    attached: tuple[tuple[str, str], ...] = ()
    """Each attachment's mention and its text as sent (in the message's data block)."""
    attachments: Attachments | None = None
    """The same one by one, for a dialect that sends each as a block of its own."""


def notebook_context(
    message: str,
    tools: Any,
    *,
    context: bool,
    mentions: Mentions = "typed",
    attach: Sequence[str] = (),
    images: bool = False,
) -> NotebookTurn:
    """One turn sent from an IPython session (a notebook's kernel or terminal IPython):
    ``message`` with its attachments (its mentions read as ``mentions`` says, and each of
    ``attach``: ``"df"``, ``"In[3]"``, ``"error"``), each attached figure also as an image
    where the dialect takes ``images``, and ``tools`` (a run's ``tools=``) with, for
    ``context``, the context tools after them, both under one new nonce. Outside one they go
    as they are, and ``context`` and ``attach`` are refused: there is nothing to read."""
    if isinstance(attach, str):
        raise ConfigurationError(f"attach= takes a list of names, not one string: [{attach!r}]")
    kernel = running_kernel()
    if kernel is None:
        if context or attach:
            what = "context=True" if context else "attach="
            raise ConfigurationError(f"{what}: {NO_KERNEL}")
        return NotebookTurn(message, tools)
    nonce = new_nonce()
    if context:
        tools = [*(tools or ()), *context_tools(kernel, nonce)]
    sent = attached(message, kernel, nonce, mentions=mentions, attach=attach, images=images)
    return replace(sent, tools=tools)


def with_attachments(request: RunRequest, turn: NotebookTurn) -> RunRequest:
    """``request`` (of ``turn``'s message) carrying its attachments one by one."""
    if turn.attachments is None:
        return request
    return request.model_copy(update={"attachments": turn.attachments})


def asked_first(attached: Sequence[tuple[str, str]]) -> AskedFirst | None:
    """What a run asks before it sends a message's ``attached`` items (mention, text as
    sent), where the context settings ask first (:func:`.context_summary.configure`): one
    call of the notebook's, ``attach``, its question naming each mention and showing its
    text; denied, nothing is sent. None where nothing is attached or the settings do not ask."""
    if not attached or not context_settings().ask_first:
        return None
    named = ", ".join(mention for mention, _ in attached)

    def attach(mentions: list[str]) -> str:
        """Attach what the message's mentions name in the notebook, as shown.

        :param mentions: the mentions attached
        """
        return f"attached to the message: {', '.join(mentions)}"

    def preview(arguments: dict[str, Any]) -> str:
        lines = [f"attaches to the message, sent once approved: {named}"]
        return chr(10).join([*lines, *(text for _, text in attached)])

    declared = replace(tool(attach, approve=True), reads_notebook=True, preview=preview)
    mentions = {"mentions": [mention for mention, _ in attached]}
    denied = f"the attachments ({named}) were denied: nothing was sent to the agent"
    return AskedFirst(declared, mentions, ATTACHMENTS_DENIED, denied)


def asks_first(message: str) -> bool:
    """Whether ``message``, typed, would wait for a decision on its attachments: the context
    settings ask first and it mentions something (outside code; ``@@`` is a literal ``@``)."""
    if "@" not in message or not context_settings().ask_first:
        return False
    found: list[str] = []

    def seen(match: re.Match[str]) -> str:
        if not match.group("at"):
            found.append(match.group(0))
        return match.group(0)

    _outside_code(message, lambda part: _MENTION.sub(seen, part))
    return bool(found)


def attached(
    message: str,
    kernel: Kernel,
    nonce: str,
    settings: ContextSettings | None = None,
    *,
    mentions: Mentions = "typed",
    attach: Sequence[str] = (),
    images: bool = False,
) -> NotebookTurn:
    """``message`` as sent, a turn without its tools: its mentions read as ``mentions`` says
    (``@@`` written ``@`` where they are), each attachment's summary after it in the data
    block marked ``nonce``, those of ``attach`` too; a :class:`ConfigurationError` for a name
    the kernel lacks where it is typed or named in ``attach``. With ``images``, each attached
    figure's image (its summary saying it went, or why not:
    :func:`.context_summary.figure_image`)."""
    settings = settings or context_settings()
    media: list[Media] | None = [] if images else None
    text: str = message
    items: dict[str, str] = {}
    if mentions != "text":
        text, items = _attachments(message, kernel, settings, mentions == "typed", media)
    if attach:
        named = [f"@{_attached_name(name)}" for name in attach]
        more = " ".join(mention for mention in named if mention not in items)
        items = {**items, **_attachments(more, kernel, settings, True, media)[1]}
    if not items:
        return NotebookTurn(text)
    block = data_block(chr(10).join(items.values()), nonce)
    one_by_one = Attachments(
        message=text,
        items=tuple(_attachment(m, item, kernel, nonce) for m, item in items.items()),
    )
    return NotebookTurn(
        f"{text}\n\n{block}",
        media=tuple(media or ()),
        attached=tuple(items.items()),
        attachments=one_by_one,
    )


def _attachment(mention: str, text: str, kernel: Kernel, nonce: str) -> Attachment:
    """One attachment as a block of its own: its text in the run's data block, named by the
    file's URI, else by the notebook's name for it."""
    path = _MENTION.fullmatch(mention)
    sent = data_block(text, nonce)
    if path is not None and path.group("path"):
        where = (kernel.cwd / path.group("path")).resolve()
        kind = mimetypes.guess_type(where.name)[0] or "text/plain"
        return Attachment(mention=mention, text=sent, uri=where.as_uri(), mime_type=kind, file=True)
    return Attachment(mention=mention, text=sent, uri=f"agentnb:notebook/{quote(mention[1:])}")


def _attached_name(name: object) -> str:
    """One of ``attach=``: a name as a mention names it, without its ``@``."""
    text = str(name).removeprefix("@")
    if not _MENTION.fullmatch(f"@{text}") or text.startswith("@"):
        raise ConfigurationError(
            f"attach= takes names as a mention names them (df, df.revenue, error, In[3], "
            f"Out[3], ./prices.py), not {text!r}"
        )
    return text


def as_text(message: str) -> str:
    """``message`` written so that it sends as it is, attaching nothing: each ``@`` a
    mention would read doubled (``@cfg`` → ``@@cfg``, which sends ``@cfg``)."""
    return _outside_code(message, lambda part: re.sub(r"(?<![\w@])@", "@@", part))


def _attachments(
    message: str,
    kernel: Kernel,
    settings: ContextSettings,
    strict: bool = True,
    images: list[Media] | None = None,
    refused: list[str] | None = None,
) -> tuple[str, dict[str, str]]:
    """``message`` with ``@@`` written ``@``, and each mention's text as sent (within the
    turn's budget); each figure's image added to ``images`` where they are asked for. A
    mention that names nothing to read is refused when ``strict`` (its reason added to
    ``refused`` where given, the other mentions read on), else left as text."""
    summaries: dict[str, str] = {}
    found = kernel_secrets(kernel) if "@" in message else FoundSecrets()
    settings, secrets = searched(settings, found), found.values

    def resolved(match: re.Match[str]) -> str:
        if match.group("at"):
            return "@"
        mention = match.group(0)
        if mention not in summaries:
            try:
                summary, value = _summary(match, kernel, settings, secrets)
            except (ConfigurationError, ValueError) as exc:
                if strict and refused is None:
                    raise
                if strict and refused is not None:
                    refused.append(str(exc))
                return mention
            if images is not None and is_figure(value):
                summary += "\n" + _image(value, mention, settings, secrets, images)
            summaries[mention] = summary
        return mention

    text = _outside_code(message, lambda part: _MENTION.sub(resolved, part))
    items = within_turn(list(summaries.values()), settings.turn_chars)
    return text, dict(zip(summaries, items, strict=True))


def _image(
    fig: Any, mention: str, settings: ContextSettings, secrets: tuple[str, ...], media: list[Media]
) -> str:
    """The line a figure's summary ends with where the dialect takes images: its image
    (added to ``media``) is sent, and which it is, or why it is not."""
    if len(media) >= TURN_IMAGES:
        return f"[its image is not sent: a message sends {TURN_IMAGES} images at most]"
    image = figure_image(fig, mention, settings, secrets)
    if isinstance(image, str):
        return f"[its image is not sent: {image}]"
    media.append(image)
    return f"[its image is sent with this message: image {len(media)}]"


def _outside_code(message: str, change: Any) -> str:
    """``message`` with ``change`` applied to its text outside code spans."""
    parts = _CODE.split(message)
    for index in range(0, len(parts), 2):  # the odd parts are code spans, left as they are
        parts[index] = change(parts[index])
    return "".join(parts)


class KernelAttachments:
    """What the chat cell's input shows of a message's ``@`` mentions before it is sent,
    read in the kernel this runs in (none outside one), each attached figure drawn as
    sending draws it where the cell's dialect takes ``images``."""

    def __init__(self, images: bool = False) -> None:
        self.images = images

    def preview(self, message: str) -> list[tuple[str, str]]:
        """Each mention of ``message`` and the exact text it attaches; for a name the kernel
        lacks, :class:`RefusedMentions` (a ``ConfigurationError``, as sending would raise)
        saying why, holding those of the other mentions."""
        kernel = running_kernel()
        if kernel is None or "@" not in message:
            return []
        if len(message) > PREVIEW_CHARS:
            raise ConfigurationError(
                f"the message is {len(message):,} characters: its attachments are shown for "
                f"messages of up to {PREVIEW_CHARS:,} (they are still attached when sent)"
            )
        images: list[Media] | None = [] if self.images else None
        refused: list[str] = []
        read = _attachments(message, kernel, context_settings(), True, images, refused)
        items = list(read[1].items())
        if refused:  # the names that do resolve keep their chips beside the reason
            raise RefusedMentions("; ".join(refused), items)
        return items

    def as_text(self, message: str) -> str:
        """``message`` sending every mention as written, attaching nothing."""
        return as_text(message)

    def without(self, message: str, mentions: Collection[str]) -> str:
        """``message`` with each of ``mentions`` written as a literal (``@df`` → ``@@df``):
        sent as written, attaching nothing."""
        dropped = set(mentions)

        def literal(match: re.Match[str]) -> str:
            mention = match.group(0)
            return f"@{mention}" if mention in dropped else mention

        return _outside_code(message, lambda part: _MENTION.sub(literal, part))


def _summary(
    match: re.Match[str], kernel: Kernel, settings: ContextSettings, secrets: tuple[str, ...]
) -> tuple[str, Any]:
    """A mention's text as sent, redacted of the kernel's ``secrets`` among the rest, and
    the value it summarizes (None for a cell's source or the last error)."""
    mention = match.group(0)
    if match.group("path"):
        return _file(mention, match.group("path"), kernel, settings, secrets), None
    if match.group("cells"):
        number = int(match.group("number"))
        if match.group("cells") == "In":
            return f"{mention}:\n" + cell_source(kernel, number, secrets, settings), None
        value = _output(kernel, number, settings)
        return summarize(value, mention, settings, secrets), value
    name, attr = match.group("name"), match.group("attr")
    if name == "error" and "error" not in kernel.namespace:
        return f"{mention}:\n{bounded(lambda: last_error(kernel, secrets, settings))}", None
    value = _variable(name, kernel, settings)
    if attr is not None:
        value = _part(value, name, attr)
    return summarize(value, mention, settings, secrets), value


def _file(
    mention: str, path: str, kernel: Kernel, settings: ContextSettings, secrets: tuple[str, ...]
) -> str:
    """``@./prices.py``: the file's first lines as a context tool reads them, redacted and
    within the item budget."""
    try:
        head = file_head(kernel.cwd, path, MAX_FILE_LINES, secrets, settings)
    except (ValueError, OSError) as exc:
        raise ConfigurationError(
            f"{mention}: {exc} (a mention with a / names a file; nothing was sent; write @@ "
            f"for a literal @)"
        ) from None
    return cut(f"@{head}", settings.item_chars, secrets=secrets)


def _variable(name: str, kernel: Kernel, settings: ContextSettings) -> Any:
    if name in settings.deny:
        raise ConfigurationError(f"@{name}: this name is on the context deny list")
    if name in kernel.namespace and denied_value(kernel, settings, kernel.namespace[name]):
        raise ConfigurationError(f"@{name}: it holds the value of a name on the context deny list")
    if name not in kernel.namespace:
        near = did_you_mean(name, user_variables(kernel, settings))
        hint = f": did you mean @{near}?" if near else ""
        raise ConfigurationError(
            f"@{name}: no variable {name!r} in the notebook{hint} (nothing was sent; "
            f"write @@ for a literal @)"
        )
    return kernel.namespace[name]


def _part(value: Any, name: str, attr: str) -> Any:
    """``@name.attr``: a frame's column, else a public attribute."""
    columns = getattr(value, "columns", None)
    try:
        if columns is not None and attr in list(columns):
            return value[attr]
    except Exception:  # a columns attribute of another kind: try the attribute
        pass
    if attr.startswith("_") or not hasattr(value, attr):
        raise ConfigurationError(
            f"@{name}.{attr}: {name} has no column or public attribute {attr!r} (nothing was sent)"
        )
    return getattr(value, attr)


def _output(kernel: Kernel, number: int, settings: ContextSettings) -> Any:
    outputs = kernel.namespace.get("Out")
    if not isinstance(outputs, Mapping) or number not in outputs:
        raise ConfigurationError(
            f"@Out[{number}]: cell {number} has no output value (it printed or returned "
            f"nothing; nothing was sent)"
        )
    cells = kernel.cells()
    named = denied_in(str(cells[number]), settings) if cells and number < len(cells) else None
    if named is not None or denied_value(kernel, settings, outputs[number]):
        why = f"cell {number} names {named}" if named else "it is a value"
        raise ConfigurationError(
            f"@Out[{number}]: {why}, on the context deny list (nothing was sent)"
        )
    return outputs[number]
