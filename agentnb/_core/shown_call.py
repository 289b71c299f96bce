"""What a person is shown of a tool call before deciding on it: the whole call, nothing forged.

Everything in a call comes from the server or from a model that may have read a hostile
page: its name, its argument keys and values, the reason and the question that come with it.
Every surface that shows a call (the terminal prompt and printer, the chat cell's card, the
static copy, ``agentnb runs``, ``Run``'s repr) shows it through this module, so that

- no argument key is ever dropped: long values are clipped one by one, each saying how much
  of it is hidden, and :meth:`ShownCall.whole` is the call with nothing clipped (and with
  what a dialect put aside: its bookkeeping, :class:`~.transcript.CardArguments`, whose
  text values show without JSON's quotes where they need none, a text of several lines as
  its lines, each under the first, at most :data:`VALUE_LINES` of them until shown whole);
- nothing can start a new line (but a card's text of several lines, its lines indented under
  its first), move the cursor or reorder the text: line breaks, control
  characters and Unicode format characters (bidi embeddings, overrides and isolates,
  LRM/RLM/ALM, zero-width characters, the BOM, invisible fillers, tag characters) are shown as
  ``⟨U+202E⟩`` (:func:`visible`);
- a name that is not a plain identifier (``read_file``, ``github.create_issue``,
  ``mcp:search``) is flagged, since a look-alike of a harmless name is the usual disguise;
- arguments whose JSON text names a key twice, at any depth, are flagged: which of the two a
  platform keeps is its own choice, and the person must not be shown the harmless one only;
- a call that writes a file (its arguments' ``diff``: a unified diff) or a notebook cell
  (the diff under the first line of the client's reason) shows that diff as lines, each
  made visible, old and new marked by ``-`` and ``+`` (:attr:`ShownCall.diff`), so what a
  write will change is read, not decoded from an escaped string;
- a call awaiting approval is shown as the decision is bound to it
  (:attr:`~agentnb.approvals.ToolApproval.asked`: the version the platform acts on), and the
  platform's other versions that disagree with it are shown below it, flagged, as is a call no
  decision can be bound to (:attr:`~agentnb.approvals.ToolApproval.protocol_error`, which
  agentnb denies).
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .text import compact_json, visible
from .transcript import CallVersion, CardArguments, ToolCall

__all__ = [
    "DIFF_BELOW",
    "DIFF_LINES",
    "VALUE_LINES",
    "ShownCall",
    "is_plain_identifier",
    "shown_call",
    "visible",
]

VALUE_CHARS = 200
"""Characters of one argument value a surface shows before clipping it."""
VALUE_LINES = 12
"""Lines of a card's text of several lines a surface shows before clipping it."""

DIFF_LINES = 400
"""Lines of a call's diff a surface shows before saying how many more there are."""
DIFF_BELOW = "(the diff below)"
"""The ``diff`` argument's value where the diff is shown as lines under the call."""

_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}")


def is_plain_identifier(name: str) -> bool:
    """Whether ``name`` is a tool name as tools are named: ASCII letters, digits and
    ``_ . : / -``, starting with a letter or ``_``, at most 128 characters."""
    return _PLAIN_IDENTIFIER.fullmatch(name) is not None


@dataclass(frozen=True)
class ShownArgument:
    """One argument as shown: its key and its value, both made :func:`visible`."""

    key: str
    value: str
    """The value as JSON (a card's text as itself, line breaks kept), clipped to fit."""
    hidden: int = 0
    """Characters of the value left out by the clipping (0: shown whole)."""

    def text(self, *, one_line: bool = False) -> str:
        """``key: value`` (the value alone for arguments that are not an object), with
        ``… (+N chars)`` where the value was clipped; a card's text of several lines as its
        lines, each under the first (``one_line``: as JSON)."""
        value = compact_json(self.value) if one_line and "\n" in self.value else self.value
        head = f"{self.key}: " if self.key else ""
        return head + self.clipped(value).replace("\n", "\n" + " " * max(len(head), 2))

    def clipped(self, value: str | None = None) -> str:
        """The value (or ``value``), with ``… (+N chars)`` where it was clipped."""
        more = f"… (+{self.hidden:,} chars)" if self.hidden else ""
        return (self.value if value is None else value) + more


@dataclass(frozen=True)
class ShownVersion:
    """Another version of a call the platform sent, which disagrees with the one shown."""

    where: str
    """Which of the platform's events gave it (made visible)."""
    name: str
    arguments: tuple[ShownArgument, ...]
    whole_arguments: tuple[ShownArgument, ...]
    duplicate_keys: tuple[str, ...] = ()

    def signature(self) -> str:
        """``name(key: value, ...)`` on one line, values clipped."""
        return f"{self.name}({', '.join(a.text(one_line=True) for a in self.arguments)})"

    def lines(self, *, whole: bool = False) -> list[str]:
        """A flagged head line, then the version as :meth:`ShownCall.lines` writes a call."""
        head = f"⚠ also sent, in {self.where} (not the one shown first):"
        return [head, *_as_lines(self.name, self.whole_arguments if whole else self.arguments)]


@dataclass(frozen=True)
class ShownCall:
    """A call as a person sees it before deciding (see the module)."""

    name: str
    """The tool's name, made visible."""
    name_is_plain: bool
    """False: the name is not a plain identifier (flag it where it is shown)."""
    arguments: tuple[ShownArgument, ...]
    """Every argument, in the order the call gave them, but those put aside. A call whose
    arguments are not a JSON object has one argument with the empty key: the whole value."""
    duplicate_keys: tuple[str, ...] = ()
    """Keys the arguments' JSON text names more than once (made visible)."""
    whole_arguments: tuple[ShownArgument, ...] = ()
    """The same arguments, none clipped."""
    other_versions: tuple[ShownVersion, ...] = ()
    """The platform's other versions of the call that disagree with this one."""
    protocol_error: str | None = None
    """Why no decision can be bound to the call (agentnb denies it), made visible."""
    diff: tuple[str, ...] = ()
    """The diff the call writes (its arguments' ``diff``), line by line, each made
    visible, at most :data:`DIFF_LINES` of them; none when it writes none."""
    diff_hidden: int = 0
    """Lines of the diff left out past :data:`DIFF_LINES`."""
    aside: tuple[str, ...] = ()
    """The keys a dialect put aside (its bookkeeping): in :attr:`whole_arguments` only."""
    card: bool = False
    """The arguments are a dialect's card (:class:`~.transcript.CardArguments`): their text
    values are not quoted, so each is shown on a line of its own."""
    reason: str = ""
    """The approval's reason as the face says it: its lines made visible, whole (the card
    bounds its box and scrolls it); empty where there is none, or where it only repeats a
    value the face shows (Codex's title: the command, or the script its shell runs)."""
    reads_notebook: bool = False
    """The call is a read of the notebook's (its reason names what it reads; an agent's
    "always" is the agent's own)."""

    @property
    def sends(self) -> tuple[str, ...]:
        """What a read of the notebook sends: its reason's lines under the first (none for any
        other call)."""
        return tuple(self.reason.split("\n")[1:]) if self.reads_notebook else ()

    def head(self) -> str:
        """The reason where it heads the call: its first line where what follows is shown
        apart (:attr:`sends` in a block of its own, the diff in lines under the call), else
        whole."""
        return self.reason.split("\n", 1)[0] if self.sends or self.diff else self.reason

    def beside_diff(self) -> tuple[ShownArgument, ...]:
        """:attr:`arguments` for a surface that shows :attr:`diff` as lines under the call
        (the chat cell's card, the terminal's prompt): the ``diff`` argument points there
        instead of repeating it as an escaped string (its key stays; :meth:`whole` has its
        value). :attr:`arguments` itself for a call that writes no diff."""
        return tuple(
            ShownArgument(a.key, DIFF_BELOW) if self.diff and a.key == "diff" else a
            for a in self.arguments
        )

    def diff_lines(self) -> list[str]:
        """The diff as lines under the call, saying how many are left out."""
        more = [f"… {self.diff_hidden:,} more lines of the diff"] if self.diff_hidden else []
        return [*self.diff, *more]

    def diff_block(self) -> list[str]:
        """The diff for a terminal: under a head line, each line in a gutter (so a line of
        the file can never pass for a line of the terminal's own); none without a diff."""
        if not self.diff:
            return []
        return ["what it writes:", *(f"  │ {line}" for line in self.diff_lines())]

    @property
    def clipped(self) -> bool:
        """Whether the call is not shown whole: some value clipped, or some key aside."""
        return bool(self.aside) or any(argument.hidden for argument in self.arguments)

    def left_out(self) -> str:
        """What only the whole call shows, in words (``2 values are clipped``, ``details and
        input kept aside``; empty: nothing)."""
        count = sum(1 for argument in self.beside_diff() if argument.hidden)
        clipped = f"{count} value{'s are' if count > 1 else ' is'} clipped" if count else ""
        aside = f"{' and '.join(self.aside)} kept aside" if self.aside else ""
        return ", ".join(filter(None, [clipped, aside]))

    def warnings(self) -> list[str]:
        """What a person must know before deciding, one line each."""
        notes = []
        if self.protocol_error is not None:
            notes.append(f"agentnb denies this call, whatever is answered: {self.protocol_error}")
        if self.other_versions:
            notes.append(
                f"the platform sent {len(self.other_versions) + 1} versions of this call that "
                "disagree: the one shown first is the one it acts on (approving runs that one), "
                'the others are marked "also sent". Deny unless you are sure'
            )
        if not self.name_is_plain:
            notes.append(f"the tool name {self.name} is not a plain identifier")
        twice = [("the arguments", self.duplicate_keys)]
        twice += [(version.where, version.duplicate_keys) for version in self.other_versions]
        said = "name {} more than once (the platform picks one)"
        notes += [f"{where} {said.format(', '.join(keys))}" for where, keys in twice if keys]
        return notes

    def signature(self) -> str:
        """``name(key: value, ...)`` on one line, values clipped."""
        return f"{self.name}({', '.join(a.text(one_line=True) for a in self.arguments)})"

    def lines(self, *, beside_diff: bool = False) -> list[str]:
        """``name(`` then one ``  key: value`` line per argument, values clipped (with
        ``beside_diff``, for a surface that shows the diff under them:
        :meth:`beside_diff`)."""
        return _as_lines(self.name, self.beside_diff() if beside_diff else self.arguments)

    def whole(self) -> list[str]:
        """:meth:`lines` with no value clipped: the call exactly as it will run."""
        return _as_lines(self.name, self.whole_arguments)

    def other_lines(self, *, whole: bool = False) -> list[str]:
        """The other versions, each under a flagged head line (none: no line)."""
        return [line for version in self.other_versions for line in version.lines(whole=whole)]


def shown_call(call: ToolCall, value_chars: int = VALUE_CHARS) -> ShownCall:
    """How ``call`` is shown, each value clipped to ``value_chars`` characters: as its
    decision is bound to it when it asked for one, else as the platform streamed it."""
    approval = call.approval
    asked = approval.asked if approval is not None else None
    version = asked or CallVersion("", call.name, call.arguments, call.arguments_text or None)
    shown = _shown_version(version, value_chars)
    others = approval.other_versions if approval is not None else ()
    why = approval.protocol_error if approval is not None else None
    diff = _diff_of(version.arguments) or _diff_of_reason(approval)
    reason = _reason(approval, shown)
    return ShownCall(
        name=shown.name,
        name_is_plain=is_plain_identifier(version.name),
        arguments=shown.arguments,
        duplicate_keys=shown.duplicate_keys,
        whole_arguments=shown.whole_arguments,
        aside=_aside(version.arguments),
        card=isinstance(version.arguments, CardArguments),
        other_versions=tuple(_shown_version(other, value_chars) for other in others),
        protocol_error=visible(why) if why is not None else None,
        diff=tuple(visible(line) for line in diff[:DIFF_LINES]),
        diff_hidden=max(0, len(diff) - DIFF_LINES),
        reason=reason,
        reads_notebook=_reads_notebook(approval),
    )


def _reads_notebook(approval: Any) -> bool:
    """Whether the approval is a read of the notebook's (an agent's "always" is its own)."""
    return approval is not None and approval.for_run is not None and not approval.agent_option


def _diff_of(arguments: Any) -> list[str]:
    """The lines of the unified diff a call's arguments carry as ``diff`` (none: no diff)."""
    diff = arguments.get("diff") if isinstance(arguments, Mapping) else None
    return diff.splitlines() if isinstance(diff, str) and diff.startswith(("--- ", "@@ ")) else []


def _diff_of_reason(approval: Any) -> list[str]:
    """The diff under the first line of an approval's reason: the client's own account of
    what a write will change (a notebook cell's edit, against the cell as it is now)."""
    said = approval.reason.splitlines() if approval is not None and approval.reason else []
    return said[1:] if len(said) > 1 and said[1].startswith(("--- ", "@@ ")) else []


def _reason(approval: Any, shown: ShownVersion) -> str:
    """The approval's reason for the face (see :attr:`ShownCall.reason`): whole, a reason is
    the agent's own account and no other place shows it; a title that repeats the face
    left out, its justification after " — " kept."""
    said = (approval.reason or "").strip() if approval is not None else ""
    faced = [a.value for a in shown.whole_arguments if a.key in {b.key for b in shown.arguments}]

    def repeats(text: str) -> bool:
        face, script = _visible_lines(text), _visible_lines(shlex.quote(text))
        return any(v == face or v.endswith((f" -c {script}", f" -lc {script}")) for v in faced)

    title, _, why = said.partition(" — ")
    return "" if repeats(said) else _visible_lines(why if why and repeats(title) else said)


def _shown_version(version: CallVersion, value_chars: int) -> ShownVersion:
    """The version made visible, its face each value clipped but the keys put aside (a
    dialect's bookkeeping, in the whole call only)."""
    pairs, duplicates = _argument_pairs(version)
    whole = tuple(ShownArgument(visible(key), _visible_lines(value)) for key, value in pairs)
    aside = _aside(version.arguments)
    return ShownVersion(
        where=visible(version.where),
        name=visible(version.name),
        arguments=tuple(_clipped(shown, value_chars) for shown in whole if shown.key not in aside),
        whole_arguments=whole,
        duplicate_keys=tuple(visible(key) for key in duplicates),
    )


def _argument_pairs(version: CallVersion) -> tuple[list[tuple[str, str]], list[str]]:
    """The version's (key, JSON value) pairs in their order, and the keys its JSON text names
    twice at any depth (``outer.inner``; ``[2]`` for an array's items)."""
    if text := version.text:
        try:  # text that is no JSON, or nested too deeply to read, is shown as it is
            pairs = json.loads(text, object_pairs_hook=_Pairs)
            twice = _repeated_paths(pairs, "")
            if isinstance(pairs, _Pairs):  # a key at its first place, its value the last, as
                # a parser keeps it (JSON.parse and Python's json alike)
                return [(k, compact_json(_plain(v))) for k, v in dict(pairs).items()], twice
            return [("", compact_json(_plain(pairs)))], twice
        except (ValueError, RecursionError):
            return [("", visible(text))], []
    arguments = version.arguments
    if arguments is None:
        return [], []
    shown = _card_text if isinstance(arguments, CardArguments) else compact_json
    if isinstance(arguments, Mapping):
        return [(str(key), shown(value)) for key, value in arguments.items()], []
    return [("", compact_json(arguments))], []


def _card_text(value: Any) -> str:
    """A dialect's card value: a text as itself, its lines printable, none ending in
    whitespace, none blank at either end (what would read as nothing); anything else as JSON
    (so only a card's text holds a line break)."""
    plain = isinstance(value, str) and value.strip() == value != ""
    plain = plain and all(row.isprintable() and row.rstrip() == row for row in value.split("\n"))
    return value if plain else compact_json(value)


def _visible_lines(value: str) -> str:
    """A value made visible line by line: only a card's text holds a line break
    (:func:`_card_text`; JSON escapes it, and text that is no JSON is made visible whole)."""
    return "\n".join(map(visible, value.split("\n")))


def _aside(arguments: Any) -> tuple[str, ...]:
    return tuple(map(visible, arguments.aside)) if isinstance(arguments, CardArguments) else ()


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its pairs: duplicate keys are kept, in order."""


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return {key: _plain(inner) for key, inner in value}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def _repeated_paths(value: Any, path: str) -> list[str]:
    """The path of every key named twice in its object, at any depth of ``value``."""
    if isinstance(value, _Pairs):
        here = [_joined(path, k) for k, n in Counter(k for k, _ in value).items() if n > 1]
        inner = [p for key, item in value for p in _repeated_paths(item, _joined(path, key))]
        return list(dict.fromkeys([*here, *inner]))
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _repeated_paths(item, f"{path}[{i}]")]
    return []


def _joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _clipped(argument: ShownArgument, limit: int) -> ShownArgument:
    """The argument with its value cut at ``limit`` characters or :data:`VALUE_LINES` lines."""
    value = argument.value
    kept = "\n".join(value[:limit].split("\n")[:VALUE_LINES])
    return ShownArgument(argument.key, kept, len(value) - len(kept)) if kept != value else argument


def _as_lines(name: str, arguments: tuple[ShownArgument, ...]) -> list[str]:
    if not arguments:
        return [f"{name}()"]
    lines = [line for argument in arguments for line in argument.text().split("\n")]
    return [f"{name}(", *(f"  {line}" for line in lines), ")"]
