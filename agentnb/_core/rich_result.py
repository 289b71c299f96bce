"""What a notebook function the agent called returned, as a person sees it in the notebook: a
figure or an image as the image, a table (a DataFrame) or another object's HTML as HTML (made
safe where it is shown), from the value's mime bundle (IPython's display formatters, which
know ``_repr_png_``, ``_repr_html_``, ... and, in a kernel, matplotlib's figures). The agent
gets the text form (:func:`~agentnb._core.client_tools.result_text`); this is for the chat
cell and its static copy only, and is bounded: a form larger than it may be is said in
words.

Formatting a value runs the user's code (its ``_repr_*_`` methods): the caller runs
:func:`shown_result` under :func:`~agentnb._core.user_code.run_user_code`'s bound.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from .figure_reading import is_figure

__all__ = [
    "APP_VIEW_MIME",
    "MAX_SHOWN_HTML_CHARS",
    "MAX_SHOWN_IMAGE_BYTES",
    "SHOWN_TIME_LIMIT",
    "figure_png",
    "has_rich_form",
    "shown_result",
]

SHOWN_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "text/html")
"""The forms a chat cell shows, the first a value has taken."""
MAX_SHOWN_IMAGE_BYTES = 1_000_000
"""The largest image (its bytes, an SVG's characters) a chat cell shows; a larger one is said
in words."""
MAX_SHOWN_HTML_CHARS = 200_000
"""The largest HTML a chat cell shows; a larger one is said in words."""
APP_VIEW_MIME = "application/vnd.agentnb.mcp-app+json"
"""A call's shown form that is an MCP App's view (``_app/mcp/mcp_apps.py``): JSON the live chat
cell renders in a sandboxed frame; the static copy only says a view was there."""
SHOWN_TIME_LIMIT = 10.0
"""Seconds a value's formatting may take (its ``_repr_*_`` methods, a figure drawn)."""
_REPR_METHODS = (
    "_repr_png_",
    "_repr_jpeg_",
    "_repr_svg_",
    "_repr_html_",
    "_repr_mimebundle_",
)
_PLAIN = (str, bytes, int, float, complex, bool, type(None), list, tuple, dict, set, frozenset)


def has_rich_form(value: Any) -> bool:
    """Whether ``value`` may have a form to show beside its text (cheap: no formatting, no
    import): an object with a ``_repr_png_`` (or svg, jpeg, html, mime bundle) method, or a
    matplotlib figure."""
    if isinstance(value, _PLAIN):
        return False
    kind = type(value)
    return any(hasattr(kind, name) for name in _REPR_METHODS) or is_figure(value)


def shown_result(value: Any) -> dict[str, str] | None:
    """``{"mime": ..., "data": ...}``: the first of :data:`SHOWN_MIMES` ``value`` takes
    (an image's data in base64), or ``{"mime": "text/plain", "data": why}`` where that form is
    larger than a chat cell shows; None where it has none. Runs the value's own code."""
    if not has_rich_form(value):
        return None
    bundle = _mime_bundle(value)
    for mime in SHOWN_MIMES:
        if mime in bundle:
            return _bounded(mime, bundle[mime])
    return None


def _mime_bundle(value: Any) -> dict[str, Any]:
    """The value's forms, as the running notebook would display it (its shell's formatters,
    which draw a figure as the kernel's inline backend does), else IPython's own."""
    # IPython is agentnb's dependency; it is imported here, where a notebook function
    # returned an object with a form to show
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance() if InteractiveShell.initialized() else None
    formatter = getattr(shell, "display_formatter", None) or DisplayFormatter()
    data, _metadata = formatter.format(value)
    bundle = dict(data)
    if is_figure(value) and not any(mime.startswith("image/") for mime in bundle):
        bundle["image/png"] = figure_png(value)
    return bundle


def figure_png(figure: Any, dpi: float | None = None) -> str:
    """A matplotlib figure drawn as a PNG (base64), at ``dpi`` (None: the figure's own):
    where no formatter draws figures, and the image an ``@fig`` attachment sends."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", dpi=dpi or "figure")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _bounded(mime: str, data: Any) -> dict[str, str] | None:
    if not isinstance(data, str | bytes):
        return None
    if mime.startswith("image/") and mime != "image/svg+xml":
        size = len(data) if isinstance(data, bytes) else len(data) * 3 // 4
        if size > MAX_SHOWN_IMAGE_BYTES:
            return _too_large(mime, size, MAX_SHOWN_IMAGE_BYTES)
        encoded = _base64_text(data)
        return None if encoded is None else {"mime": mime, "data": encoded}
    if not isinstance(data, str):
        return None
    limit = MAX_SHOWN_IMAGE_BYTES if mime == "image/svg+xml" else MAX_SHOWN_HTML_CHARS
    if len(data) > limit:
        return _too_large(mime, len(data), limit)
    return {"mime": mime, "data": data}


def _base64_text(data: str | bytes) -> str | None:
    """An image's data as base64 text (the formatters give bytes or base64 text); None where
    the text is not base64."""
    if isinstance(data, bytes):
        return base64.b64encode(data).decode("ascii")
    text = "".join(data.split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return text


_NAMES = {
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "image/svg+xml": "an SVG image",
    "text/html": "HTML",
}


def _too_large(mime: str, size: int, limit: int) -> dict[str, str]:
    unit = "characters" if mime in ("text/html", "image/svg+xml") else "bytes"
    what = _NAMES.get(mime, mime)
    return {
        "mime": "text/plain",
        "data": f"{what} of {size:,} {unit}: larger than the {limit:,} a chat cell shows "
        "(the agent got its text form)",
    }
