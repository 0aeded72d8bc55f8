"""The Supabase plugin's one hook: open ``supabase://`` URLs."""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_supabase.backend import SupabaseBackend


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``supabase://`` URLs (made by selection from SUPABASE_URL and SUPABASE_KEY)."""
    if url.scheme != "supabase":
        return None
    return SupabaseBackend(url, settings)
