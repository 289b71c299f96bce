"""A server's question as a person is shown it (``_app/mcp/mcp_form.py``): fields typed by their
schema, bounded, the server's text made plain; a link's host in ASCII; what cannot be shown
refused, saying why."""

from __future__ import annotations

from typing import Any

import pytest

from agentnb._app.mcp.mcp_form import MAX_SHOWN_FIELDS, FormRefused, shown_form
from agentnb.types import McpElicitation


def form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required or []}
    return shown_form(McpElicitation("srv", "Tell me", "form", schema=schema))


def test_each_kind_of_field_is_typed_with_its_bounds_choices_and_default() -> None:
    shown = form(
        {
            "name": {"type": "string", "title": "Name", "minLength": 2, "maxLength": 9},
            "age": {"type": "integer", "minimum": 0, "maximum": 130, "default": 30},
            "score": {"type": "number", "default": True},
            "ok": {"type": "boolean", "default": False},
            "size": {"type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]},
            "tone": {"type": "string", "oneOf": [{"const": "warm", "title": "Warm"}]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        ["name"],
    )
    fields = {f["key"]: f for f in shown["fields"]}
    assert fields["name"] == {
        "key": "name",
        "label": "Name",
        "description": "",
        "kind": "string",
        "required": True,
        "min_length": 2,
        "max_length": 9,
    }
    assert (fields["age"]["kind"], fields["age"]["min"], fields["age"]["default"]) == (
        "integer",
        0,
        30,
    )
    assert "default" not in fields["score"], "a default of the wrong type is left out"
    assert fields["ok"]["default"] is False
    assert fields["size"]["choices"] == [["s", "Small"], ["m", "Medium"]]
    assert fields["tone"]["choices"] == [["warm", "Warm"]]
    assert fields["tags"]["kind"] == "choices"
    assert shown["hidden"] == 0


def test_labels_are_cut_and_made_plain() -> None:
    shown = form({"x": {"type": "string", "title": "a\u202eb\u200b" + "c" * 500}})
    label = shown["fields"][0]["label"]
    assert label.startswith("a⟨U+202E⟩b⟨U+200B⟩c") and len(label) <= 220


def test_past_the_bound_optional_fields_are_counted_and_required_ones_refuse() -> None:
    many = {f"f{n:02}": {"type": "string"} for n in range(MAX_SHOWN_FIELDS + 5)}
    shown = form(many)
    assert (len(shown["fields"]), shown["hidden"]) == (MAX_SHOWN_FIELDS, 5)
    with pytest.raises(FormRefused, match="1 required ones past the 20"):
        form(many, required=[f"f{MAX_SHOWN_FIELDS + 2:02}"])


def test_a_required_field_nobody_can_type_refuses_an_optional_one_is_left_out() -> None:
    assert form({"o": {"type": "object"}})["hidden"] == 1
    with pytest.raises(FormRefused, match="of a kind nobody can type"):
        form({"o": {"type": "object"}}, ["o"])


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://xn--exmple-cua.com/pay", "xn--exmple-cua.com"),
        ("HTTP://Pay.Example.COM./x?y=1#z", "pay.example.com."),
        ("http://127.0.0.1:8000/x", "127.0.0.1"),
        ("https://[::1]:8443/", "[::1]"),
    ],
)
def test_a_link_s_host_is_said_in_ascii(url: str, host: str) -> None:
    shown = shown_form(McpElicitation("srv", "Pay", "url", url=url))
    assert (shown["url"], shown["host"]) == (url, host)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@accounts.google.com/",  # the browser opens evil.example
        "https://accounts.google.com@evil.example/",
        "https://accounts.google.com:pw@evil.example/",
        "https://evil%2Eexample/",
        "https://evil.exa\tmple/",
        "https://evil.example /x",
        "https://0x7f.1/",  # the browser reads 127.0.0.1
        "https://127.1/",
        "https://0x7f.0.0.1./",
        "https://faß.de/",  # the browser opens xn--fa-hia.de, Python's IDNA fass.de
        "https:evil.example",
        "https:/\\evil.example",
    ],
)
def test_a_link_whose_host_two_parsers_could_read_apart_is_refused(url: str) -> None:
    with pytest.raises(FormRefused, match="not http"):
        shown_form(McpElicitation("srv", "Sign in", "url", url=url))


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "https:///nohost"]
)
def test_a_link_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(FormRefused, match="not http"):
        shown_form(McpElicitation("srv", "Open", "url", url=url))
