"""A run's cost: the platform's own figure wins, then a custom price, then genai-prices; a
missing cost is None (never 0) with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage as PricedUsage
from genai_prices import calc_price

import agentnb
from agentnb import ConfigurationError, Run
from agentnb.events import RunCompleted, RunStarted, Usage
from agentnb.providers._frames import parse_usage

AT = datetime(2025, 6, 1, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def _no_custom_prices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AGENTNB_PRICES", raising=False)
    yield
    agentnb.set_prices(None)


def _run(model: str | None, usage: Usage | None, *, requested: str | None = None) -> Run:
    run = Run(agent="a", message="m", model=requested)
    run.start(AT)
    run.apply(RunStarted(run_id="r", model=None, received_at=AT))
    run.apply(RunCompleted(usage=usage, model=model, received_at=AT + 1))
    return run


def _genai(model: str, **tokens: int) -> float:
    when = datetime.fromtimestamp(AT, UTC)
    price = calc_price(PricedUsage(**tokens), model_ref=model, genai_request_timestamp=when)
    return float(price.total_price)


def test_cached_prompt_tokens_cost_the_cache_price() -> None:
    usage = Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=8_000)
    run = _run("gpt-4o-mini", usage)
    expected = _genai(
        "gpt-4o-mini", input_tokens=10_000, output_tokens=2_000, cache_read_tokens=8_000
    )
    assert run.cost == pytest.approx(expected, rel=1e-12)
    assert run.cost < _genai("gpt-4o-mini", input_tokens=10_000, output_tokens=2_000)  # type: ignore[operator]
    assert run.cost_source == "genai-prices"


def test_the_platforms_own_cost_wins() -> None:
    run = _run("gpt-4o-mini", Usage(prompt_tokens=10, completion_tokens=5, cost=0.25))
    assert (run.cost, run.cost_source, run.cost_reason) == (0.25, "platform", None)


def test_the_streams_model_wins_over_the_requests() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=100)
    assert _run("gpt-4o", usage, requested="gpt-4o-mini").model == "gpt-4o"
    fallback = _run(None, usage, requested="gpt-4o-mini")
    assert fallback.model == "gpt-4o-mini"
    assert fallback.cost == pytest.approx(
        _genai("gpt-4o-mini", input_tokens=1000, output_tokens=100)
    )


def test_a_provider_prefixed_model_is_found_under_its_provider() -> None:
    run = _run("openai/gpt-4o", Usage(prompt_tokens=1000, completion_tokens=100))
    assert run.cost == pytest.approx(_genai("gpt-4o", input_tokens=1000, output_tokens=100))


@pytest.mark.parametrize(
    ("model", "usage", "why"),
    [
        ("gpt-4o", None, "no input and output token counts"),
        ("gpt-4o", Usage(total_tokens=50), "no input and output token counts"),
        (None, Usage(prompt_tokens=1, completion_tokens=1), "the model is unknown"),
        ("my-llama", Usage(prompt_tokens=1, completion_tokens=1), "no price for the model"),
    ],
)
def test_a_cost_that_cannot_be_known_is_none_with_the_reason(
    model: str | None, usage: Usage | None, why: str
) -> None:
    run = _run(model, usage)
    assert run.cost is None and run.cost_source is None
    assert run.cost_reason is not None and why in run.cost_reason
    assert run.snapshot()["cost"] is None and why in run.snapshot()["cost_reason"]


def test_set_prices_prices_a_private_model_and_overrides_the_table() -> None:
    usage = Usage(prompt_tokens=2_000_000, completion_tokens=1_000_000, cached_tokens=1_000_000)
    agentnb.set_prices(
        {
            "my-llama": {"input_mtok": 0.2, "output_mtok": 0.6, "cache_read_mtok": 0.1},
            "gpt-4o": {"input_mtok": 1, "output_mtok": 1},
        }
    )
    run = _run("my-llama", usage)
    assert run.cost == pytest.approx(0.2 + 0.1 + 0.6)  # 1M fresh + 1M cached input, 1M output
    assert run.cost_source == "custom"
    assert _run("gpt-4o", usage).cost == pytest.approx(3.0)
    agentnb.set_prices(None)
    assert run.cost is None and run.cost_source is None  # the price went: the cost goes too


@pytest.mark.parametrize(
    ("prices", "said"),
    [
        ({"m": {"input_mtok": 1}}, "input_mtok and output_mtok are required"),
        ({"m": {"input_mtok": 1, "output_mtok": -1}}, "output_mtok = -1 is not a price"),
        ({"m": {"input_mtok": "x", "output_mtok": 1}}, "input_mtok = 'x' is not a price"),
        ({"m": {"input": 1, "output_mtok": 1}}, "unknown key(s) input"),
        ({"m": 3}, "not a table of prices"),
    ],
)
def test_set_prices_names_every_bad_entry(prices: dict[str, object], said: str) -> None:
    with pytest.raises(ConfigurationError, match="set_prices") as caught:
        agentnb.set_prices(prices)  # type: ignore[arg-type]
    assert said in str(caught.value)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_the_prices_file_prices_a_private_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"prices{suffix}"
    if suffix == ".toml":
        path.write_text('["corp/llm-7b"]\ninput_mtok = 1.5\noutput_mtok = 3\n')
    else:
        path.write_text(json.dumps({"corp/llm-7b": {"input_mtok": 1.5, "output_mtok": 3}}))
    monkeypatch.setenv("AGENTNB_PRICES", str(path))
    run = _run("corp/llm-7b", Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000))
    assert (run.cost, run.cost_source) == (pytest.approx(4.5), "custom")


def test_a_bad_prices_file_leaves_the_cost_missing_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("not = [toml")
    monkeypatch.setenv("AGENTNB_PRICES", str(path))
    run = _run("gpt-4o", Usage(prompt_tokens=10, completion_tokens=5))
    assert run.cost is None
    assert run.cost_reason is not None
    assert "AGENTNB_PRICES" in run.cost_reason and "not valid TOML" in run.cost_reason
    monkeypatch.setenv("AGENTNB_PRICES", str(tmp_path / "missing.json"))
    assert "cannot read the prices file" in (run.cost_reason or "")


@pytest.mark.parametrize(
    ("frame", "cached", "reasoning", "cost"),
    [
        (  # OpenAI Chat Completions (and OpenRouter's cost)
            {
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "prompt_tokens_details": {"cached_tokens": 60},
                "completion_tokens_details": {"reasoning_tokens": 30},
                "cost": 0.0012,
            },
            60,
            30,
            0.0012,
        ),
        (  # LangChain usage_metadata
            {
                "input_tokens": 100,
                "output_tokens": 50,
                "input_token_details": {"cache_read": 60},
                "output_token_details": {"reasoning": 30},
            },
            60,
            30,
            None,
        ),
        (  # the AI SDK
            {
                "inputTokens": 100,
                "outputTokens": 50,
                "cachedInputTokens": 60,
                "reasoningTokens": 30,
            },
            60,
            30,
            None,
        ),
    ],
)
def test_usage_reads_cached_and_reasoning_tokens_and_a_cost(
    frame: dict[str, object], cached: int, reasoning: int, cost: float | None
) -> None:
    usage = parse_usage(frame)
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 50, 150)
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.cost) == (cached, reasoning, cost)


def test_anthropic_cache_reads_count_as_prompt_tokens() -> None:
    usage = parse_usage({"input_tokens": 40, "output_tokens": 5, "cache_read_input_tokens": 60})
    assert usage is not None and (usage.prompt_tokens, usage.cached_tokens) == (100, 60)


def test_usages_add_up_and_unknown_stays_unknown() -> None:
    a = Usage(prompt_tokens=1, completion_tokens=2, cost=0.5)
    b = Usage(prompt_tokens=3, completion_tokens=None, cached_tokens=1)
    assert a.plus(b) == Usage(prompt_tokens=4, completion_tokens=2, cached_tokens=1, cost=0.5)
    assert a.plus(b).reasoning_tokens is None
