from types import SimpleNamespace

import pytest

from agentnb import ConfigurationError
from agentnb._notebook.interpolate import interpolate

NS = {
    "ticker": "NVDA",
    "n": 5,
    "cfg": {"a": [1, 2, 3], "name": "x"},
    "obj": SimpleNamespace(name="Ada", inner=SimpleNamespace(level=3), _secret="s"),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ticker}}", "NVDA"),
        ("{{ ticker }} is up", "NVDA is up"),
        ("{{n}}+{{n}}", "5+5"),
        ("{{cfg['name']}}", "x"),
        ('{{cfg["a"][-1]}}', "3"),
        ("{{obj.name}} / {{obj.inner.level}}", "Ada / 3"),
        # single braces, JSON and code pass through untouched
        ('{"ticker": "NVDA"}', '{"ticker": "NVDA"}'),
        (
            "def f(): return {k: v for k, v in d.items()}",
            "def f(): return {k: v for k, v in d.items()}",
        ),
        ("{ticker}", "{ticker}"),
        # braces that are not a placeholder expression are left alone
        ("{{ 1 + 1 }}", "{{ 1 + 1 }}"),
        ("{{ticker()}}", "{{ticker()}}"),
        ("{{cfg[n]}}", "{{cfg[n]}}"),
        ("", ""),
    ],
)
def test_interpolation(text: str, expected: str) -> None:
    assert interpolate(text, NS) == expected


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"no variable 'missing'.*--no-interpolate"):
        interpolate("price of {{missing}}", NS)


def test_missing_attribute_and_key() -> None:
    with pytest.raises(ConfigurationError, match="has no attribute 'nope'"):
        interpolate("{{obj.nope}}", NS)
    with pytest.raises(ConfigurationError, match=r"cannot look up \['zz'\]"):
        interpolate("{{cfg['zz']}}", NS)
    with pytest.raises(ConfigurationError, match=r"cannot look up \[9\]"):
        interpolate("{{cfg['a'][9]}}", NS)


def test_private_attributes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="private attribute"):
        interpolate("{{obj._secret}}", NS)
    with pytest.raises(ConfigurationError, match="private attribute"):
        interpolate("{{obj.__class__}}", NS)


def test_nothing_is_evaluated() -> None:
    ns = {"x": SimpleNamespace(y=1)}
    # an expression that would have side effects if evaluated stays as text
    assert interpolate("{{__import__('os').getcwd()}}", ns) == "{{__import__('os').getcwd()}}"
