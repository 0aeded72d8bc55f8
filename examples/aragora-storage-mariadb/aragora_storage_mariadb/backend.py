"""Every logical database of the layout in one MariaDB database."""

from __future__ import annotations

from typing import Any

from aragora_storage_core.plugin_api import Check, Level, ServerBackend, Settings, StorageURL
from aragora_storage_mariadb.database import MariaDBDatabase, where


class MariaDBBackend(ServerBackend):
    """MariaDB backend: ``mariadb://user:password@host:3306/database``.

    Serves every relational store; migrations, backup and restore (the core's portable
    SQLite-file backup) and copy come from the core's :class:`SQLBackend`. Opening it connects once,
    so a wrong URL fails here, not at first use.
    """

    name = "mariadb"

    def __init__(self, url: StorageURL, settings: Settings) -> None:
        super().__init__(url, settings)
        self.database = MariaDBDatabase(url, settings.slow_query_ms, settings.db_timeout)
        version = self.database.fetch_one("SELECT VERSION()")
        self.server_version = str(version[0]) if version else "?"

    def health(self) -> list[Check]:
        """Round trip (from the core) and the server's version."""
        return [*super().health(),
                Check("storage.I120", Level.INFO,
                      f"MariaDB {self.server_version} at {where(self.url)}",
                      data={"server_version": self.server_version})]

    def describe(self) -> dict[str, Any]:
        """Facts for ``doctor``; never the password."""
        return {**super().describe(), "server_version": self.server_version}
