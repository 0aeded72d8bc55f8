"""Rows in the CSV form of ``COPY ... FROM STDIN WITH (FORMAT csv)``, for bulk inserts.

Text is always quoted (so an empty string stays one and NULL is the bare empty field);
backslashes are not special in CSV. Only plain values are encoded (``str``, ``int``,
``float``, ``bool``, ``bytes``, ``None``); anything else raises ``TypeError`` so the caller
can fall back to ``execute_values``; :func:`copy_csv_any` also writes the values other
drivers hand back (``Decimal``, dates and times, UUIDs as their text, JSON as JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, time
from decimal import Decimal
from typing import Any
from uuid import UUID

#: Values written as their ``str()``, which PostgreSQL reads back as the same value.
AS_TEXT = (Decimal, date, time, UUID)


def field(value: Any) -> str:
    """A value other than text or NULL as a CSV field."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if kind is bool:
        return "t" if value else "f"
    if kind in (bytes, bytearray, memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"no COPY form for {kind.__name__}")


def copy_csv(rows: Iterable[Sequence[Any]]) -> str:
    """Every row as one CSV line; text and NULL (most values) are handled inline."""
    lines = [",".join(['"' + value.replace('"', '""') + '"' if value.__class__ is str
                       else "" if value is None else field(value) for value in row])
             for row in rows]
    lines.append("")
    return "\n".join(lines)


def any_field(value: Any) -> str:
    """Any value a driver hands back as a CSV field (``TypeError`` if it has no COPY form)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, AS_TEXT):
        return str(value)
    if isinstance(value, dict | list):
        return '"' + json.dumps(value).replace('"', '""') + '"'
    return field(value)


def copy_csv_any(rows: Sequence[Sequence[Any]]) -> str:
    """:func:`copy_csv`, falling back to :func:`any_field` for rows with other values."""
    try:
        return copy_csv(rows)
    except TypeError:
        lines = [",".join(any_field(value) for value in row) for row in rows]
        lines.append("")
        return "\n".join(lines)
