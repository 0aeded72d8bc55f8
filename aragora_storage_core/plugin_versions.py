"""Whether a plugin's declared plugin-API range (``PLUGIN_API = ">=1.0,<2"``) admits
this aragora-storage's :data:`~aragora_storage_core.plugin_api.VERSION`.

The version is defined here (:mod:`~aragora_storage_core.plugin_api` exports it), so that
loading a plugin does not load the plugin API's table of exports.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

#: The version of the plugin API (``plugin_api.VERSION``).
API_VERSION = "1.0"
#: One clause of a range (compiled on first use by ``re.match``: few plugins declare one).
_CLAUSE = r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$"
_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt,
}


def _version(text: str) -> tuple[int, ...]:
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (3 - len(parts))


def incompatibility(declared: object, current: str) -> str | None:
    """Why ``declared`` (a plugin's ``PLUGIN_API``) excludes ``current``, or ``None``.

    ``declared`` is comma-separated clauses such as ``>=1.0,<2``; ``None`` (a plugin that
    declares nothing) is taken as compatible; anything else is a reason of its own.
    """
    if declared is None:
        return None
    if not isinstance(declared, str):
        return f"its PLUGIN_API {declared!r} is not a version range such as '>=1.0,<2'"
    for clause in declared.split(","):
        match = re.match(_CLAUSE, clause)
        if match is None:
            return f"its PLUGIN_API {declared!r} is not a version range such as '>=1.0,<2'"
        if not _COMPARE[match.group(1)](_version(current), _version(match.group(2))):
            return (f"it was built for plugin API {declared}, and this aragora-storage"
                    f" provides {current}")
    return None
