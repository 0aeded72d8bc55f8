"""Migration DDL as data: read in the portable (SQLite) spelling, written by a Dialect.

Migration files hold ``CREATE TABLE``, ``CREATE INDEX``, ``ALTER TABLE ... ADD/DROP
COLUMN`` and ``DROP TABLE/INDEX`` statements in SQLite's spelling. :func:`render` parses
each into columns and constraints and writes it back through the dialect's named
operations (:meth:`~Dialect.column_type`, :meth:`~Dialect.identity_column`,
:meth:`~Dialect.now_default`, :meth:`~Dialect.quote`); any other statement passes through
unchanged. :func:`key_columns` reads every statement of a database's migrations first,
so a text column that an index or constraint uses anywhere is a key column everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aragora_storage_core.sql.dialect import Dialect

KeyColumns = frozenset[tuple[str, str]]

_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*;?\s*$", re.I | re.S)
_CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(\w+)\s*\(([^)]*)\)"
    r"\s*;?\s*$", re.I | re.S)
_ADD_COLUMN = re.compile(
    r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(IF\s+NOT\s+EXISTS\s+)?(.*?)\s*;?\s*$",
    re.I | re.S)
_COLUMN = re.compile(r"^(\w+)\s+([A-Za-z]+(?:\s*\([^)]*\))?)(.*)$", re.S)
_REFERENCES = re.compile(r"\bREFERENCES\s+(\w+)\s*\((\w+)\)", re.I)
_COMMENT = re.compile(r"--[^\n]*")
_NOW = re.compile(r"\bDEFAULT\s+CURRENT_TIMESTAMP\b", re.I)
_IDENTITY = re.compile(r"^\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I)
_TABLE_KEY = re.compile(r"^(PRIMARY\s+KEY|UNIQUE)\s*\(([^)]*)\)$", re.I)
_FOREIGN_KEY = re.compile(r"^FOREIGN\s+KEY\s*\(([^)]*)\)", re.I)
_TABLE_CONSTRAINT = re.compile(r"^(FOREIGN\s+KEY|CHECK|CONSTRAINT)\b", re.I)


def _split_top_level(body: str) -> list[str]:
    """``body`` split at commas outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in body:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _column_keys(table: str, definition: str) -> set[tuple[str, str]]:
    match = _COLUMN.match(definition)
    if match is None:
        return set()
    rest = match.group(3).upper()
    if "PRIMARY KEY" in rest or "UNIQUE" in rest or "REFERENCES" in rest:
        return {(table, match.group(1))}
    return set()


def key_columns(statements: Iterable[str]) -> KeyColumns:
    """Every ``(table, column)`` used by a key, unique constraint, reference or index."""
    keys: set[tuple[str, str]] = set()
    for text in statements:
        statement = _COMMENT.sub("", text).strip()
        if table_match := _CREATE_TABLE.match(statement):
            table = table_match.group(2)
            for item in _split_top_level(table_match.group(3)):
                constraint = _TABLE_KEY.match(item)
                if constraint:
                    keys.update((table, name) for name in _names(constraint.group(2)))
                elif foreign := _FOREIGN_KEY.match(item):
                    keys.update((table, name) for name in _names(foreign.group(1)))
                elif not _TABLE_CONSTRAINT.match(item):
                    keys.update(_column_keys(table, item))
        elif index_match := _CREATE_INDEX.match(statement):
            keys.update((index_match.group(4), name) for name in _names(index_match.group(5)))
        elif add_match := _ADD_COLUMN.match(statement):
            keys.update(_column_keys(add_match.group(1), add_match.group(3)))
    return frozenset(keys)


def _column(dialect: Dialect, table: str, definition: str, keys: KeyColumns) -> str:
    """One column definition: name quoted, type and the words that differ by dialect
    rewritten by name; every other constraint (``NOT NULL``, ``CHECK``, ...) kept."""
    match = _COLUMN.match(definition)
    if match is None:
        return definition
    name, declared, rest = match.group(1), match.group(2), match.group(3)
    identity = _IDENTITY.match(rest)
    if declared.upper() == "INTEGER" and identity:
        column = dialect.identity_column(bool(identity.group(1)))
        rest = rest[identity.end():]
    else:
        column = dialect.column_type(declared.upper(), (table, name) in keys)
    rest = _NOW.sub(lambda _: "DEFAULT " + dialect.now_default(), rest)
    rest = _REFERENCES.sub(lambda m: f"REFERENCES {dialect.quote(m.group(1))}"
                                     f"({dialect.quote(m.group(2))})", rest)
    return f"{dialect.quote(name)} {column}{rest}".rstrip()


def _create_table(dialect: Dialect, match: re.Match[str], keys: KeyColumns) -> str:
    table = match.group(2)
    items = []
    for item in _split_top_level(match.group(3)):
        constraint = _TABLE_KEY.match(item)
        if constraint:
            names = ", ".join(dialect.quote(n) for n in _names(constraint.group(2)))
            items.append(f"{constraint.group(1).upper()} ({names})")
        elif _TABLE_CONSTRAINT.match(item):
            items.append(item)
        else:
            items.append(_column(dialect, table, item, keys))
    exists = "IF NOT EXISTS " if match.group(1) or not dialect.transactional_ddl else ""
    body = ",\n    ".join(items)
    return f"CREATE TABLE {exists}{dialect.quote(table)} (\n    {body}\n)"


def added_column(statement: str) -> tuple[str, str] | None:
    """``(table, column)`` when ``statement`` is an ``ALTER TABLE ... ADD COLUMN``."""
    added = _ADD_COLUMN.match(_COMMENT.sub("", statement))
    if added is None or not (column := _COLUMN.match(added.group(3).strip())):
        return None
    return added.group(1), column.group(1)


def render(statement: str, dialect: Dialect, keys: KeyColumns = frozenset()) -> str:
    """``statement`` (portable spelling) in ``dialect``, as sent to its driver."""
    return dialect.literal_text(write(statement, dialect, keys))


def write(statement: str, dialect: Dialect, keys: KeyColumns = frozenset()) -> str:
    """``statement`` (portable spelling) in ``dialect``, as a person reads it (schema files).

    Statements other than ``CREATE TABLE/INDEX`` and ``ADD COLUMN`` come back unchanged.
    Where the dialect's DDL does not commit with its transaction, ``CREATE`` and ``ADD
    COLUMN`` become ``IF NOT EXISTS``, so a migration that stopped half-way runs again.
    Comment lines before the statement are kept; comments inside it are dropped.
    """
    lines = statement.strip().splitlines()
    head = []
    while lines and lines[0].lstrip().startswith("--"):
        head.append(lines.pop(0).strip())
    code = _COMMENT.sub("", "\n".join(lines))
    written = _write(code, dialect, keys)
    if written is None:
        return statement
    return "\n".join([*head, written])


def _write(statement: str, dialect: Dialect, keys: KeyColumns) -> str | None:
    idempotent = not dialect.transactional_ddl
    if table := _CREATE_TABLE.match(statement):
        return _create_table(dialect, table, keys)
    if index := _CREATE_INDEX.match(statement):
        unique = "UNIQUE " if index.group(1) else ""
        exists = "IF NOT EXISTS " if index.group(2) or idempotent else ""
        columns = ", ".join(dialect.quote(n) for n in _names(index.group(5)))
        return (f"CREATE {unique}INDEX {exists}{dialect.quote(index.group(3))}"
                f" ON {dialect.quote(index.group(4))} ({columns})")
    if added := _ADD_COLUMN.match(statement):
        table_name = added.group(1)
        exists = "IF NOT EXISTS " if added.group(2) or idempotent else ""
        return (f"ALTER TABLE {dialect.quote(table_name)} ADD COLUMN {exists}"
                f"{_column(dialect, table_name, added.group(3), keys)}")
    return None
