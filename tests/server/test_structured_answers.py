"""The ``structured`` demo agent answers with values that fit what each field means: the
ticker the message names and its DEMO price record, a summary sentence about it, a person's
name and age where the schema describes a person — deterministically, within the schema's
constraints."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from pydantic import BaseModel, Field

from agentnb.server.agents._schema_hints import words_of
from agentnb.server.agents._schema_instances import instance_for
from agentnb.server.agents._tools import price_table


class StockQuote(BaseModel):
    ticker: str
    company_name: str
    price: float = Field(description="the last price")
    currency: str
    changePercent: float
    as_of: str
    summary: str
    volume: int


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=30)
    email: str
    city: str


def test_a_ticker_gets_its_demo_price_record() -> None:
    quote = StockQuote.model_validate(instance_for(StockQuote.model_json_schema(), "AAPL?"))
    demo = price_table().quotes["AAPL"]
    assert (quote.ticker, quote.company_name, quote.price) == ("AAPL", demo.name, demo.price)
    assert quote.currency == "USD" and quote.as_of == price_table().as_of
    assert quote.changePercent == round((demo.price - demo.week_ago) / demo.week_ago * 100, 2)
    assert "Apple" in quote.summary and "DEMO" in quote.summary
    assert quote.volume > 1_000_000


def test_without_a_ticker_the_default_stock_stands_in() -> None:
    quote = StockQuote.model_validate(instance_for(StockQuote.model_json_schema()))
    assert (quote.ticker, quote.price) == ("NVDA", price_table().quotes["NVDA"].price)


def test_a_person_is_not_a_company() -> None:
    person = Person.model_validate(instance_for(Person.model_json_schema(), "a person"))
    assert person.name == "Alex Demo" and "@" in person.email and person.city
    assert person.age == 30  # 36 fits a person, clamped into the schema's 18..30


def test_the_same_schema_and_message_give_the_same_answer() -> None:
    schema = StockQuote.model_json_schema()
    assert instance_for(schema, "MSFT") == instance_for(schema, "MSFT")
    assert instance_for(schema, "MSFT") != instance_for(schema, "TSLA")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"type": "number", "maximum": 100}, 100 - 1),  # the price 875.40 is out of bounds
        ({"type": "string"}, "418.32"),
        ({"type": "string", "maxLength": 3}, "418"),
        ({"type": "string", "pattern": "^[A-Z]{4}$"}, "demo price"),  # a pattern is not followed
        ({"type": "string", "enum": ["up", "down"]}, "up"),
        ({"type": "string", "format": "date"}, "2025-01-10"),
    ],
)
def test_constraints_win_over_hints(field: dict[str, Any], expected: Any) -> None:
    schema = {"type": "object", "properties": {"price": field}}
    assert instance_for(schema, "MSFT")["price"] == expected


def test_the_description_helps_when_the_name_says_nothing() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"type": "number", "description": "The closing price"}, "y": {}},
    }
    assert instance_for(schema, "IBM") == {"x": price_table().quotes["IBM"].price, "y": "demo"}


def test_list_items_differ() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 3}
    tags = instance_for({"type": "object", "properties": {"tags": schema}}, "AMD")["tags"]
    assert tags == ["demo", "amd", "weekly"]


def test_an_unknown_field_is_named_in_its_placeholder() -> None:
    assert instance_for({"properties": {"favouriteColour": {"type": "string"}}}) == {
        "favouriteColour": "demo favourite colour"
    }
    assert words_of("change_percent") == words_of("changePercent") == ("change", "percent")


def test_the_server_answers_a_quote_that_fits(client: httpx.Client) -> None:
    schema = StockQuote.model_json_schema()
    body = {
        "model": "structured",
        "messages": [{"role": "user", "content": "Quote TSLA for me"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "q", "schema": schema}},
    }
    answer = client.post("/v1/chat/completions", json=body).json()
    quote = json.loads(answer["choices"][0]["message"]["content"])
    jsonschema.validate(quote, schema)
    assert (quote["ticker"], quote["price"]) == ("TSLA", price_table().quotes["TSLA"].price)
