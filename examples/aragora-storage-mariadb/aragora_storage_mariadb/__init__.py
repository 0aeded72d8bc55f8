"""A MariaDB backend for aragora-storage: ``mariadb://user:password@host:3306/database``.

Registered under the entry points ``mariadb`` and ``mysql``; PyMySQL is imported only
when a backend opens. See ``docs/writing-a-plugin.md`` of aragora-storage.
"""

from __future__ import annotations

from aragora_storage_core.plugin_api import Backend, Settings, StorageURL, hookimpl

BACKEND_NAME = "mariadb"
#: The plugin API versions this plugin was written for.
PLUGIN_API = ">=1.0,<2"
SCHEMES = ("mariadb", "mysql")


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``mariadb://`` and ``mysql://`` URLs."""
    if url.scheme not in SCHEMES:
        return None
    from aragora_storage_mariadb.backend import MariaDBBackend

    return MariaDBBackend(url, settings)
