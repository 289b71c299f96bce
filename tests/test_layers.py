"""The package's layers, kept true by reading every module's imports (module level, inside
functions and under ``TYPE_CHECKING`` alike).

    core (sse, events, _core)  ←  providers  ←  _client  ←  _app  ←  _notebook, _cli
      ↑                                                       │
      └────────────────  _display (shows runs)  ←─────────────┘  (and _notebook, _cli)
    core  ←  _http (httpx, aiohttp only)  ←  _client
                         ↖ _history (handed to the client as a recorder) ↗
                         ↖ _tracing (likewise; the root combines the two)  ↗
    _display reads runs and imports only the core; _app (what notebook and CLI share)
    shows its runs with it; the CLI never imports the notebook (the magics).
    The history keeps records and draws nothing: never history → display (what shows a
    history is above both: _app/past/history_tables.py).
    Inside _app, its sub-packages import one way too (APP_ORDER):
      context  ←  mcp, coding_agents  ←  front  ←  past  ←  many
    server: apart, it uses nothing above the core's exceptions.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from agentnb_testing import PACKAGE_DIRS, REPO, parsed

LAYER_OF_PREFIX = {
    "agentnb.sse": "core",
    "agentnb.events": "core",
    "agentnb.types": "root",  # public front modules: re-export what the root's layers hold
    "agentnb.history": "root",
    "agentnb.approvals": "root",
    "agentnb.context": "root",
    "agentnb.display": "root",
    "agentnb._core": "core",
    "agentnb.providers": "providers",
    "agentnb._http": "http",
    "agentnb._client": "client",
    "agentnb._history": "history",
    "agentnb._tracing": "tracing",
    "agentnb._display": "display",
    "agentnb._app": "app",
    "agentnb._notebook": "notebook",
    "agentnb._cli": "cli",
    "agentnb.__main__": "cli",
    "agentnb.server": "server",
    "agentnb.evals": "evals",
}
MAY_IMPORT = {
    "core": {"core"},
    "providers": {"core", "providers"},
    "http": {"core", "http"},
    "client": {"core", "providers", "http", "client"},
    "history": {"core", "providers", "history"},
    "tracing": {"core", "tracing"},
    "display": {"core", "display"},
    "app": {
        "core",
        "providers",
        "client",
        "http",
        "history",
        "tracing",
        "display",
        "app",
        "server",
    },
    "notebook": {
        "core",
        "providers",
        "client",
        "http",
        "history",
        "tracing",
        "display",
        "app",
        "notebook",
    },
    "cli": {
        "core",
        "providers",
        "client",
        "http",
        "history",
        "tracing",
        "display",
        "app",
        "cli",
        "server",
    },
    "server": {"core", "server"},
    "evals": {"root", "core", "providers", "evals"},  # public modules only: test_evals_public_api
    "root": {
        "core",
        "providers",
        "client",
        "http",
        "history",
        "tracing",
        "display",
        "app",
        "notebook",
        "cli",
        "server",
    },
}
LAZY_ALLOWED = (
    "IPython",  # only where a shell runs, which has imported it: never in a command line
    "pandas",
    "matplotlib",
    "numpy",
    "jsonschema",
    "referencing",  # jsonschema's registry (and jsonschema_specifications): loaded with it
    "jsonschema_specifications",
    "agentnb.server",
    "agentnb._http.aiohttp_transport",  # aiohttp: at the first HTTP client
    "agentnb._http.websocket",  # aiohttp too: at the first ACP agent reached over WebSocket
    "acp",  # the optional ACP SDK (agentnb[acp]): at the first ACP agent started
    "httpx",  # with its own command line (click, rich, pygments): not at ``import agentnb``
    "agentnb._notebook.magics",
    "agentnb._notebook.magic_input",  # IPython's input transforms: where a shell runs (import)
    "agentnb._tracing.otel",
    "genai_prices",  # ~0.6-1 s to import: imported at the first cost computed
    "rich.markdown",  # markdown-it: at the first answer a terminal prints
    "polars",  # RunHistory.to_polars (pyarrow, untyped, is loaded through importlib)
    "agentnb._app.past.runs_browser",  # the widget, at the first history browsed
    "agentnb._app.past.trace_export",  # past runs (and the widget with them), at the first export
    # the widget stack (anywidget, ipywidgets, IPython's display): at the first thing drawn in
    # a notebook, never in a script, the command line or evaluation's commands
    "agentnb._display.widget",
    "agentnb._display.show",
    "agentnb._display.runs_table",
    "ipywidgets",
    "agentnb._app.mcp.mcp_connection",  # the mcp SDK, an optional extra: at the first MCP server
    "agentnb._app.context.mcp_http",  # likewise, at the first notebook served over MCP
    "agentnb._app.mcp.mcp_apps",  # likewise, at the first call of a tool with an MCP App view
    "ray",  # an optional extra: when agentnb.evals.ray_executor() is called
    "distributed",  # Dask's: only for an experiment whose executor is Dask's (so installed)
    "agentnb._app.mcp.mcp_oauth",  # likewise, at the first mcp_logout
    "comm",  # a kernel's page channel: at the first notebook tool's call, never in a command line
    # the connections and their clients (httpx, the ACP SDK): at the first history_of(via),
    # never on the way of agentnb.runs() or summary(), which read the history file alone
    "agentnb._app.front.connections",
)
"""Heavy optional parts: the only imports that may sit inside a function (with a reason)."""
LAZY_ALLOWED_IN_ROOT = ("agentnb._history",)
"""The package root opens the default history on the first run, not on ``import agentnb``."""


def package_dir(path: Path) -> Path:
    """The ``agentnb`` directory holding ``path``: the core's, or evaluation's."""
    return next(found for found in PACKAGE_DIRS if path.is_relative_to(found))


def package_files() -> list[Path]:
    """Every module of the ``agentnb`` package, the core's and evaluation's."""
    return sorted(path for found in PACKAGE_DIRS for path in found.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(package_dir(path).parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    if module == "agentnb":
        return "root"
    for prefix, name in LAYER_OF_PREFIX.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    raise AssertionError(f"{module} belongs to no layer: add it to LAYER_OF_PREFIX")


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in package_files():
        yield module_name(path), path, parsed(path)


def resolve(module: str, path: Path, node: ast.ImportFrom, known: set[str]) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    # "from . import x" may name a module: then it imports that module, as "from .x import y"
    # does (the package only on the way); a name of the package's own counts the package
    named = [f"{base}.{alias.name}" for alias in node.names]
    submodules = [target for target in named if target in known]
    return submodules if len(submodules) == len(named) else [base, *named]


@functools.cache
def imports(module: str, path: Path, tree: ast.Module) -> tuple[tuple[str, ast.stmt, bool], ...]:
    """(imported agentnb module, node, inside a function) for each import: found once a
    session, as the trees are parsed once and no check changes one (each of this module's
    checks walked every tree again, most of their time)."""
    return tuple(found_imports(module, path, tree))


def found_imports(
    module: str, path: Path, tree: ast.Module
) -> Iterator[tuple[str, ast.stmt, bool]]:
    known = {name for name, _, _ in modules_cache()}
    for node, nested in statements(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = resolve(module, path, node, known)
        for target in targets:
            if (target.split(".")[0] == "agentnb" and target in known) or not target.startswith(
                "agentnb"
            ):
                yield target, node, nested


def statements(node: ast.AST, nested: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement under ``node``, and whether it is inside a function; expressions are
    not entered, as no statement (an import) is inside one."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            continue
        if isinstance(child, ast.stmt):
            yield child, nested
        inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from statements(child, inner)


_CACHE: list[tuple[str, Path, ast.Module]] = []


def modules_cache() -> list[tuple[str, Path, ast.Module]]:
    if not _CACHE:
        _CACHE.extend(modules())
    return _CACHE


def test_every_import_points_down_the_layers() -> None:
    wrong = []
    for module, path, tree in modules_cache():
        for target, node, _ in imports(module, path, tree):
            if not target.startswith("agentnb"):
                continue
            if layer(target) not in MAY_IMPORT[layer(module)]:
                wrong.append(f"{module}:{node.lineno} ({layer(module)}) imports {target}")
    assert not wrong, "\n".join(wrong)


NEVER: tuple[tuple[str, str, str], ...] = (
    ("history", "display", "the history keeps records and draws nothing"),
    ("display", "history", "_display reads runs and imports only the core"),
)
"""Arrows that must never be, whatever ``MAY_IMPORT`` says, and why."""
DRAWING_LIBRARIES = ("matplotlib", "html", "rich", "anywidget", "IPython")
"""What draws: none of it is imported by the history."""


def test_the_never_arrows_hold() -> None:
    wrong = []
    for module, path, tree in modules_cache():
        for target, node, _ in imports(module, path, tree):
            for source, destination, why in NEVER:
                if target.startswith("agentnb") and (layer(module), layer(target)) == (
                    source,
                    destination,
                ):
                    wrong.append(f"{module}:{node.lineno} imports {target} ({why})")
    assert not wrong, "\n".join(wrong)


def test_the_history_imports_nothing_that_draws() -> None:
    """Its tables (text, HTML) and plots are _display's: the history hands over data."""
    wrong = [
        f"{module}:{node.lineno} imports {target}"
        for module, path, tree in modules_cache()
        if layer(module) == "history"
        for target, node, _ in imports(module, path, tree)
        if target.split(".")[0] in DRAWING_LIBRARIES
    ]
    assert not wrong, "\n".join(wrong)


HTTP_THIRD_PARTY = frozenset({"httpx", "aiohttp", "pydantic_core"})
"""What the HTTP layer may import beside the standard library and the core: httpx (the
interface), aiohttp (the wire), and pydantic-core for the JSON of error answers. The optional
decoders (brotli, zstd) are found by name when present (``_http/content_coding.py``)."""


def test_the_http_layer_imports_only_the_core_http_libraries_and_the_stdlib() -> None:
    wrong = []
    for module, path, tree in modules_cache():
        if layer(module) != "http":
            continue
        for target, node, _ in imports(module, path, tree):
            top = target.split(".")[0]
            if top in ("agentnb", "__future__") or top in sys.stdlib_module_names:
                continue
            if top not in HTTP_THIRD_PARTY:
                wrong.append(f"{module}:{node.lineno} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_even_through_function_level_imports() -> None:
    graph: dict[str, set[str]] = {}
    for module, path, tree in modules_cache():
        edges = graph.setdefault(module, set())
        for target, _, _ in imports(module, path, tree):
            if target.startswith("agentnb") and target != module:
                if module.startswith(target + "."):
                    continue  # a submodule importing its own package's __init__ names
                edges.add(target)
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle or [])


APP_ORDER = ("context", "mcp", "coding_agents", "front", "past", "many")
"""``_app``'s sub-packages, lowest first: each imports only those before it (``mcp`` and
``coding_agents`` sit side by side and import neither the other)."""
APP_SIDE_BY_SIDE = frozenset({("coding_agents", "mcp"), ("mcp", "coding_agents")})


def app_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["agentnb", "_app"] else None


def test_the_app_sub_packages_import_one_way() -> None:
    wrong = []
    for module, path, tree in modules_cache():
        source = app_part(module)
        if source is None:
            continue
        assert source in APP_ORDER, f"{module}: add its sub-package to APP_ORDER"
        for target, node, _ in imports(module, path, tree):
            destination = app_part(target)
            if destination is None or destination == source:
                continue
            upward = APP_ORDER.index(destination) > APP_ORDER.index(source)
            if upward or (source, destination) in APP_SIDE_BY_SIDE:
                wrong.append(f"{module}:{node.lineno} ({source}) imports {target} ({destination})")
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def test_function_level_imports_are_only_heavy_optional_parts_with_a_reason() -> None:
    wrong = []
    for module, path, tree in modules_cache():
        lines = path.read_text().splitlines()
        for target, node, nested in imports(module, path, tree):
            if not nested:
                continue
            allowed = LAZY_ALLOWED + (LAZY_ALLOWED_IN_ROOT if module == "agentnb" else ())
            above = lines[max(0, node.lineno - 4) : node.lineno]
            has_reason = any("#" in line for line in above)
            if not target.startswith(allowed) or not has_reason:
                wrong.append(f"{module}:{node.lineno} imports {target} inside a function")
    assert not wrong, "\n".join(wrong)


# ---- the built-in server: the service, its dialects' routes, its demo agents ---------------

SERVER = "agentnb.server"
SERVER_AGENTS = f"{SERVER}.agents"
SERVER_ROUTES = f"{SERVER}.routes"
ROUTE_KIT = f"{SERVER_ROUTES}._route_kit"
SERVER_WORDS = {f"{SERVER}._steps", f"{SERVER}._tokens", f"{SERVER}._numbers"}
"""What agents and dialects share: the steps an agent yields and a dialect renders, text
counted and cut into pieces, numbers read from text."""


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def server_imports(where: str) -> list[tuple[str, int, str]]:
    """(module, line, server module it imports) for each module of ``where``."""
    found = [
        (module, node.lineno, target)
        for module, path, tree in modules_cache()
        if inside(module, where)
        for target, node, _ in imports(module, path, tree)
        if inside(target, SERVER)
    ]
    assert found, f"{where} has no module that imports the server: was it moved?"
    return found


def test_the_demo_agents_know_nothing_of_the_service() -> None:
    """An agent yields steps; how a run is stored, paced, rendered or answered over HTTP is
    the service's. So adding an agent touches the agents package alone."""
    wrong = [
        f"{module}:{line} imports {target}"
        for module, line, target in server_imports(SERVER_AGENTS)
        if not inside(target, SERVER_AGENTS) and target not in SERVER_WORDS
    ]
    assert not wrong, "\n".join(wrong)


def test_the_service_reaches_the_agents_only_through_their_package() -> None:
    """``AGENTS`` and what an agent is given (``agentnb.server.agents``), never one agent's
    module: the service runs whatever the registry lists."""
    wrong = [
        f"{module}:{line} imports {target}"
        for module, line, target in server_imports(SERVER)
        if not inside(module, SERVER_AGENTS)
        and inside(target, SERVER_AGENTS)
        and target != SERVER_AGENTS
    ]
    assert not wrong, "\n".join(wrong)


def test_a_dialects_routes_take_the_service_from_the_route_kit() -> None:
    """A routes module imports, of the server, the kit, the steps and its siblings only; the
    service never imports a routes module (it finds them: ``_served_dialects``)."""
    routes = [
        f"{module}:{line} imports {target}"
        for module, line, target in server_imports(SERVER_ROUTES)
        if module != ROUTE_KIT
        and not inside(target, SERVER_ROUTES)
        and target != f"{SERVER}._steps"
    ]
    service = [
        f"{module}:{line} imports {target}"
        for module, line, target in server_imports(SERVER)
        if not inside(module, SERVER_ROUTES) and inside(target, SERVER_ROUTES)
    ]
    assert not routes + service, "\n".join(routes + service)


# ---- module names say what they hold, once ------------------------------------------------


def plain_names() -> dict[str, list[str]]:
    """Each module or package name of agentnb/, a leading underscore dropped → where it is."""
    found: dict[str, list[str]] = {}
    for path in package_files():
        named = path.parent if path.name == "__init__.py" else path.with_suffix("")
        if named not in PACKAGE_DIRS:
            where = str(path.relative_to(package_dir(path)))
            found.setdefault(named.name.lstrip("_"), []).append(where)
    return found


PUBLIC_FRONTS = (
    "types.py",
    "history.py",
    "approvals.py",
    "context.py",
    "display.py",
    "evals/__init__.py",
)
"""Public submodules that only re-export what private rooms hold (``agentnb.history`` fronts
``agentnb._history``; ``agentnb.types`` a run's types from the core, the client and the app):
one idea, its public door and its rooms."""


def test_a_public_front_only_re_exports() -> None:
    for name in PUBLIC_FRONTS:
        [path] = [found / name for found in PACKAGE_DIRS if (found / name).exists()]
        body = parsed(path).body
        assert isinstance(body[0], ast.Expr), f"{name} says what it holds in a docstring"
        for node in body[1:]:  # after the docstring
            assert isinstance(node, ast.ImportFrom) or is_widget_loaded_lazily(node), (
                f"{name} holds code: move it to its room ({ast.unparse(node)[:60]!r})"
            )
        assigned = [n for n in body if isinstance(n, ast.Assign)]
        assert [ast.unparse(n.targets[0]) for n in assigned] == ["__all__"], "only __all__"


def is_widget_loaded_lazily(node: ast.stmt) -> bool:
    """What a front may hold besides imports: ``__all__``, and a widget class re-exported on
    first use (its imports under ``if TYPE_CHECKING:`` for type checkers, and a module
    ``__getattr__`` whose body imports it), so a script naming the front's other types loads
    no widget stack."""
    if isinstance(node, ast.Assign):
        return True
    if isinstance(node, ast.If):
        return ast.unparse(node.test) == "TYPE_CHECKING" and all(
            isinstance(sub, ast.ImportFrom) for sub in node.body
        )
    if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
        imported = [sub for sub in ast.walk(node) if isinstance(sub, ast.ImportFrom)]
        return bool(imported) and all(
            (sub.module or "").startswith(("_display.widget", "_display.runs_table"))
            for sub in imported
        )
    return False


def test_module_names_are_unique_once_the_leading_underscore_is_dropped() -> None:
    """``_client/wire.py`` and ``_notebook/wire.py``, ``_core/run.py`` and ``_cli/run.py``: a
    reader who meets the name cannot tell which is meant. A name says what its module holds,
    once in the package (a public front and its private room count as one)."""
    twice = {
        name: paths
        for name, paths in plain_names().items()
        if len([p for p in paths if p not in PUBLIC_FRONTS]) > 1
    }
    assert not twice, f"name these modules for what they hold: {twice}"


# ---- js/src: split by job, child views without the root -------------------------------------
JS_SRC = REPO / "js" / "src"
JS_ROOT_VIEWS = {"chat.js", "widget.js", "index.js"}
"""The chat view (the root) and the entry points that make it."""
_JS_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?from\s*['"](\./[^'"]+)['"]""", re.M)


def js_imports() -> dict[str, set[str]]:
    """Each js/src module → the js/src modules it imports."""
    return {
        path.name: {Path(target).name for target in _JS_IMPORT.findall(path.read_text())}
        & {p.name for p in JS_SRC.glob("*.js")}
        for path in sorted(JS_SRC.glob("*.js"))
    }


def test_js_modules_import_in_one_direction() -> None:
    graph = js_imports()
    assert graph["chat.js"] >= {"turn.js", "input.js", "dom.js"}  # the parser reads imports
    assert find_cycle(graph) is None, find_cycle(graph)


def test_js_child_views_never_import_the_root_view() -> None:
    """Turn, part and input views get a narrow context (``TurnContext``), not the chat view:
    none of them imports ``chat.js`` (the old ``view.js`` called back into its root ten
    times)."""
    wrong = {
        module: sorted(targets & JS_ROOT_VIEWS)
        for module, targets in js_imports().items()
        if module not in JS_ROOT_VIEWS and targets & JS_ROOT_VIEWS
    }
    assert not wrong, wrong


ONE_MEANING = ("show", "Dialect", "clean")
"""Names that meant two things (``agentnb.show`` and a view's method; the server's dialect and
what approvals need of a provider; the history's redaction and the static copy's escaping):
each is now defined once in the package, so a reader who meets it knows which is meant."""


def test_a_name_that_meant_two_things_means_one() -> None:
    defined: dict[str, list[str]] = {name: [] for name in ONE_MEANING}
    for module, _path, tree in modules_cache():
        for node in ast.walk(tree):
            kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            if isinstance(node, kinds) and node.name in defined:
                defined[node.name].append(f"{module}:{node.lineno}")
    twice = {name: where for name, where in defined.items() if len(where) != 1}
    assert not twice, f"name these for what they do: {twice}"
