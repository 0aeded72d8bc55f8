"""The shared SQL stores (which store lives where: :mod:`aragora_storage_core.stores.table`).

Each store's module is imported when that store is first built (or its class is named
here), so a process using one store does not pay for importing all eleven.
"""

from __future__ import annotations

import importlib
from typing import Any

from aragora_storage_core.stores.table import STORE_TABLE

#: Class name -> the module that defines it, from the store table.
_MODULES = {
    name: module
    for module, _, name in (
        spec.sql_implementation.rpartition(".")
        for spec in STORE_TABLE if spec.sql_implementation is not None
    )
}


def __getattr__(name: str) -> Any:
    """The store class ``name``, its module imported on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_MODULES)
