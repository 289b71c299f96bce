"""Count a package's code lines: the lines holding code, without blank lines, comments and
docstrings (a module's, a class's or a function's first string), the measure the house rounds
hold the core to.

Usage: python scripts/code_lines.py [FOLDER or FILE ...] [--by-file]
Prints each sub-folder's (or, with --by-file, each file's) count, largest first, then the total.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections import Counter
from pathlib import Path

NOT_CODE = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
        tokenize.ENCODING,
    }
)
HAS_DOCSTRING = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, HAS_DOCSTRING) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    tokens = tokenize.tokenize(io.BytesIO(source.encode()).readline)
    lines = {
        line
        for token in tokens
        if token.type not in NOT_CODE
        for line in range(token.start[0], token.end[0] + 1)
    }
    return len(lines - docstring_lines(ast.parse(source)))


def main(argv: list[str]) -> None:
    by_file = "--by-file" in argv
    folders = [Path(arg) for arg in argv if not arg.startswith("--")] or [Path("agentnb")]
    counts: Counter[str] = Counter()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]:
            key = path if by_file else path.parent
            counts[str(key)] += code_lines(path.read_text(encoding="utf-8"))
    for name, count in counts.most_common():
        print(f"{count:7,d}  {name}")
    print(f"{sum(counts.values()):7,d}  total")


if __name__ == "__main__":
    main(sys.argv[1:])
