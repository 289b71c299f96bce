"""``@fig`` on a dialect that carries images: the figure goes as its summary (what a person
reads off it, on every dialect) and as a PNG beside it where the dialect takes images, its
summary saying which image it is or why none went: below the ``sample`` level, a name that
looks secret, a text drawn in it that redaction would replace (an image cannot be redacted),
a drawing that fails, an image past its size, past the message's count. Over a namespace
here; the real kernel's runs, over the wire, are tests/notebook/test_context_kernel.py's."""

from __future__ import annotations

import base64
import struct
from typing import Any

import numpy as np
import pytest
from context_testing import attach_context

from agentnb._app.context.attachments import KernelAttachments, attached
from agentnb._app.context.context_summary import (
    IMAGE_SIDE,
    TURN_IMAGES,
    ContextSettings,
    figure_image,
    summarize,
)
from agentnb._app.context.context_tools import Kernel
from agentnb._core.request import Media

matplotlib_figure = pytest.importorskip("matplotlib.figure")
NONCE = "0123456789abcdef"
KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"


def chart(title: str = "Revenue by month", size: tuple[float, float] = (4, 2)) -> Any:
    fig = matplotlib_figure.Figure(figsize=size)
    ax = fig.subplots()
    ax.plot([1, 2, 3], [10, 30, 20])
    ax.set(title=title, xlabel="month", ylabel="revenue (USD)")
    return fig


def png_size(image: Media) -> tuple[int, int]:
    """A PNG's width and height, read from its IHDR chunk."""
    data = base64.b64decode(image.data, validate=True)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_figure_goes_as_its_summary_and_its_image_where_the_dialect_takes_images() -> None:
    fig = chart()
    kernel = Kernel({"fig": fig, "df": {"a": 1}})
    sent = attached("What does @fig show? And @df?", kernel, NONCE, images=True)
    [image] = sent.media
    assert image.type == "image/png"
    width, height = png_size(image)
    assert 300 <= width <= 460 and 150 <= height <= 260, (width, height)  # 400×200, bbox tight
    assert summarize(fig, "@fig") + "\n[its image is sent with this message: image 1]" in (
        sent.message
    ), "the summary, then which image it is"
    without = attached("What does @fig show? And @df?", kernel, NONCE)
    assert without.media == () and "[its image" not in without.message, "nothing extra"
    assert without.message == attach_context("What does @fig show? And @df?", kernel, NONCE)
    assert summarize(fig, "@fig") in without.message


def test_the_preview_shows_what_sending_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat cell's input shows the exact text: with the image line on a dialect that
    takes images, without it elsewhere."""
    kernel = Kernel({"fig": chart()})
    monkeypatch.setattr("agentnb._app.context.attachments.running_kernel", lambda: kernel)
    shown = {
        images: KernelAttachments(images).preview("What does @fig show?")
        for images in (True, False)
    }
    sent = attached("What does @fig show?", kernel, NONCE, images=True).message
    assert shown[True][0][1] in sent and shown[True][0][1].endswith("image 1]")
    assert shown[False][0][1] == summarize(kernel.namespace["fig"], "@fig")


def test_a_figure_larger_than_a_model_reads_is_drawn_smaller() -> None:
    fig = chart(size=(40, 20))  # 4,000 × 2,000 px at its own resolution
    image = figure_image(fig, "@fig")
    assert isinstance(image, Media)
    width, height = png_size(image)
    assert max(width, height) <= IMAGE_SIDE * 1.05 and width > height, (width, height)


@pytest.mark.parametrize(
    ("settings", "title", "name", "why"),
    [
        (
            ContextSettings(level="stats"),
            "Sales",
            "@fig",
            "images go at the sample level, not stats",
        ),
        (ContextSettings(level="schema"), "Sales", "@fig", "not schema"),
        (ContextSettings(), f"key {KEY}", "@fig", "a text drawn in it holds what is redacted"),
        (ContextSettings(), "Sales", "@fig_token", "its name looks secret"),
    ],
)
def test_an_image_that_could_say_what_the_text_withholds_is_not_sent(
    settings: ContextSettings, title: str, name: str, why: str
) -> None:
    image = figure_image(chart(title), name, settings)
    assert isinstance(image, str) and why in image


def test_a_kernel_secret_drawn_in_a_tick_label_keeps_the_image_back() -> None:
    """Tick labels are set by the drawing: they are read after it."""
    fig = matplotlib_figure.Figure(figsize=(3, 2))
    ax = fig.subplots()
    secret = "hunter2-correct-horse"
    ax.bar([secret, "b"], [1, 2])
    kernel = Kernel({"fig": fig, "db_password": secret})
    sent = attached("What does @fig show?", kernel, NONCE, images=True)
    assert sent.media == ()
    assert "[its image is not sent: a text drawn in it holds what is redacted]" in sent.message
    assert secret not in sent.message


def test_a_figure_that_cannot_be_drawn_goes_as_its_summary() -> None:
    class Broken(matplotlib_figure.Figure):  # type: ignore[misc]
        def savefig(self, *args: Any, **kwargs: Any) -> None:
            raise ZeroDivisionError("no picture")

    fig = Broken(figsize=(3, 2))
    fig.subplots().set_title("Sales")
    sent = attached("@fig?", Kernel({"fig": fig}), NONCE, images=True)
    assert sent.media == ()
    assert "'Sales'" in sent.message
    assert "[its image is not sent: drawing it failed (ZeroDivisionError)]" in sent.message


def test_an_image_past_its_size_is_not_sent() -> None:
    fig = matplotlib_figure.Figure(figsize=(15, 15))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(np.random.default_rng(1).random((1500, 1500, 3)), interpolation="nearest")
    image = figure_image(fig, "@noise")
    assert isinstance(image, str) and "an image may be" in image and "a PNG of" in image


def test_a_message_sends_a_bounded_number_of_images_each_named_once() -> None:
    figures = {f"f{n}": chart(f"chart {n}") for n in range(TURN_IMAGES + 1)}
    message = " ".join(f"@{name}" for name in figures) + " @f0"
    sent = attached(message, Kernel(figures), NONCE, images=True, attach=["f1"])
    assert len(sent.media) == TURN_IMAGES
    for n in range(TURN_IMAGES):
        assert f"[its image is sent with this message: image {n + 1}]" in sent.message
    assert f"a message sends {TURN_IMAGES} images at most" in sent.message
    assert sent.message.count("@f1: matplotlib Figure") == 1
