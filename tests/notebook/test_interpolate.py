from types import SimpleNamespace

import pytest

from agentnb import ConfigurationError
from agentnb._app.context.interpolate import interpolate

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


# ---- hostile placeholders and namespaces: always a ConfigurationError naming the placeholder
class Hostile:
    """Attribute and item access that run user code which fails."""

    @property
    def boom(self) -> str:
        raise RuntimeError("the property failed")

    @property
    def deep(self) -> str:
        return self.deep  # RecursionError

    def __getitem__(self, key: object) -> str:
        raise LookupError(f"no {key!r} here")  # not KeyError/IndexError/TypeError

    def __str__(self) -> str:
        raise ValueError("cannot be shown")


@pytest.mark.parametrize(
    ("text", "placeholder", "problem"),
    [
        ("{{h.boom}}", "{{h.boom}}", "RuntimeError: the property failed"),
        ("{{h.deep}}", "{{h.deep}}", "RecursionError"),
        ("{{h['k']}}", "{{h['k']}}", "LookupError: no 'k' here"),
        ("{{h}}", "{{h}}", "ValueError: cannot be shown"),
        ("{{cfg['a'][" + "9" * 5000 + "]}}", "{{cfg['a'][999", "index"),
    ],
)
def test_user_code_failing_inside_a_placeholder_is_a_configuration_error(
    text: str, placeholder: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        interpolate(f"before {text} after", {**NS, "h": Hostile()})
    message = str(caught.value)
    assert placeholder in message
    assert problem in message
    assert len(message) < 1000  # a huge placeholder is not echoed whole


def test_a_huge_index_is_refused_without_converting_it() -> None:
    with pytest.raises(ConfigurationError, match="too long"):
        interpolate("{{cfg['a'][" + "1" * 5000 + "]}}", NS)
    # a long but convertible index is looked up as usual
    with pytest.raises(ConfigurationError, match="cannot look up"):
        interpolate("{{cfg['a'][" + "1" * 30 + "]}}", NS)


def test_a_namespace_whose_lookup_fails_is_a_configuration_error() -> None:
    class Namespace(dict[str, object]):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("namespace broke")

    with pytest.raises(ConfigurationError, match="RuntimeError: namespace broke"):
        interpolate("{{x}}", Namespace(x=1))
