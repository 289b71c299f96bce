"""``agentnb.set_prices``: custom prices per model, set from code (the ``AGENTNB_PRICES`` file
sets them from the environment: see :mod:`agentnb._core.pricing`)."""

from __future__ import annotations

from collections.abc import Mapping

from .exceptions import ConfigurationError
from .pricing import parse_prices, problems_text, use_prices

__all__ = ["set_prices"]


def set_prices(prices: Mapping[str, Mapping[str, float | str]] | None) -> None:
    """Set custom prices per model, in USD per million tokens, over the ``AGENTNB_PRICES``
    file's: ``agentnb.set_prices({"my-llama": {"input_mtok": 0.2, "output_mtok": 0.6}})``.

    A price holds ``input_mtok`` and ``output_mtok``, and may hold ``cache_read_mtok`` and
    ``cache_write_mtok``. The model name is matched exactly as the run reports it; a custom
    price wins over genai-prices' table (a platform's own figure wins over both). Each call
    replaces the prices an earlier one set; ``None`` (or ``{}``) clears them. Raises
    :class:`~agentnb.ConfigurationError` naming every bad entry (and changes nothing)."""
    table, problems = parse_prices(prices or {}, "set_prices()")
    if problems:
        raise ConfigurationError(problems_text(problems, "set_prices()"))
    use_prices(table)
