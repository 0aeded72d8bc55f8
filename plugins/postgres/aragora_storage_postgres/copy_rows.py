"""Rows in the CSV form of ``COPY ... FROM STDIN WITH (FORMAT csv)``, for bulk inserts.

Text is always quoted (so an empty string stays one and NULL is the bare empty field);
backslashes are not special in CSV. Only plain values are encoded (``str``, ``int``,
``float``, ``bool``, ``bytes``, ``None``); anything else raises ``TypeError`` so the caller
can fall back to ``execute_values``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


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
