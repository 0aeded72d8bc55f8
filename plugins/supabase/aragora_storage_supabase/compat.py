"""The seed's ``SupabaseClient`` (``aragora.persistence.supabase_client``), kept working."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aragora_storage_core.url import MASK


class SupabaseClient:
    """Reads ``SUPABASE_URL`` and ``SUPABASE_KEY``; says whether both are set.

    ``client`` opens the ``supabase`` client on first use (requests time out after
    ``SUPABASE_TIMEOUT`` seconds). Neither ``repr`` nor any message shows the key.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        source = os.environ if env is None else env
        self.url: str | None = source.get("SUPABASE_URL", "").strip() or None
        self._key: str | None = source.get("SUPABASE_KEY", "").strip() or None
        self._client: Any = None
        self._env = source

    @property
    def is_configured(self) -> bool:
        """True when both ``SUPABASE_URL`` and ``SUPABASE_KEY`` are set."""
        return self.url is not None and self._key is not None

    @property
    def client(self) -> Any:
        """The ``supabase`` client of the project (created once)."""
        if self._client is None:
            from aragora_storage_core.errors import ConfigurationError

            if self.url is None or self._key is None:
                raise ConfigurationError("SUPABASE_URL and SUPABASE_KEY must both be set",
                                         "export SUPABASE_URL=https://<project>.supabase.co "
                                         "SUPABASE_KEY=<service-role key>")
            from aragora_storage_supabase.project import open_client, timeout_from

            self._client, _ = open_client(self.url, self._key, timeout_from(self._env))
        return self._client

    def __repr__(self) -> str:
        key = MASK if self._key else None
        return f"SupabaseClient(url={self.url!r}, key={key!r}, configured={self.is_configured})"
