"""The checks catalogue: every finding and error id, read from the code.

``python -m aragora_storage_core.catalogue`` writes ``docs/checks.md`` (a test keeps it
current): each ``Check("storage.XNNN", Level.X, message, hint)`` of the core and the
bundled plugins, and each error class with a ``code``. Messages and hints are shown as
written, with ``{...}`` where the code fills a value in.
"""

from __future__ import annotations

import ast
from pathlib import Path

from aragora_storage_core.records import dataclass

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("aragora_storage_core", "plugins")
LEVELS = {"E": "ERROR", "W": "WARNING", "I": "INFO", "C": "CRITICAL", "D": "DEBUG"}


@dataclass(frozen=True, order=True)
class Entry:
    """One id as the catalogue lists it."""

    id: str
    level: str
    message: str
    hint: str
    where: str


def _text(node: ast.expr | None) -> str:
    """A string literal as written; an f-string with ``{...}`` for each value."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) if isinstance(v, ast.Constant) else "{...}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    return "{...}"


def _checks(tree: ast.AST, where: str) -> list[Entry]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "Check" and len(node.args) >= 3):
            continue
        first, level = node.args[0], node.args[1]
        if not (isinstance(first, ast.Constant) and str(first.value).startswith("storage.")):
            continue
        level_name = level.attr if isinstance(level, ast.Attribute) else "?"
        hint = node.args[3] if len(node.args) > 3 else next(
            (k.value for k in node.keywords if k.arg == "hint"), None)
        found.append(Entry(str(first.value), level_name, _text(node.args[2]), _text(hint), where))
    return found


def _errors(tree: ast.AST, where: str) -> list[Entry]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if (isinstance(item, ast.Assign) and len(item.targets) == 1
                    and isinstance(item.targets[0], ast.Name) and item.targets[0].id == "code"
                    and isinstance(item.value, ast.Constant)
                    and str(item.value.value).startswith("storage.")):
                doc = (ast.get_docstring(node) or node.name).splitlines()[0]
                level = LEVELS.get(str(item.value.value)[8], "?")
                found.append(Entry(str(item.value.value), level, doc, f"raised as {node.name}",
                                   where))
    return found


def entries(root: Path = ROOT) -> list[Entry]:
    """Every id in the core and the bundled plugins, sorted by id."""
    found: set[Entry] = set()
    for source in SOURCES:
        for path in sorted((root / source).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(root))
            found.update(_checks(tree, where))
            found.update(_errors(tree, where))
    return sorted(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(root: Path = ROOT) -> str:
    """``docs/checks.md``."""
    lines = [
        "# Checks catalogue",
        "",
        "Every finding `doctor` can report and every error id, generated from the code by",
        "`python -m aragora_storage_core.catalogue` (a test fails when this page is stale).",
        "`{...}` marks a value filled in at run time. Silence findings by id with",
        "`ARAGORA_STORAGE_SILENCED_CHECKS=storage.W016,storage.I065`.",
        "",
        "| id | level | message | hint | where |",
        "|---|---|---|---|---|",
    ]
    for entry in entries(root):
        lines.append(f"| `{entry.id}` | {entry.level} | {_cell(entry.message)} |"
                     f" {_cell(entry.hint)} | `{entry.where}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "docs" / "checks.md").write_text(render(), encoding="utf-8")
    print(ROOT / "docs" / "checks.md")
