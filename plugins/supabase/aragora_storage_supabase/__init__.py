"""The Supabase backend of aragora-storage: ``SUPABASE_URL`` + ``SUPABASE_KEY``.

Serves the seed's Supabase tables (nomic cycles with rollbacks, evolution and file
changes, debate artifacts, stream events, agent metrics) through the project's REST API
with the unmodified ``supabase`` client, which is imported only when a backend opens.
See ``docs/supabase.md``.
"""

from aragora_storage_supabase.backend import SupabaseBackend
from aragora_storage_supabase.compat import SupabaseClient
from aragora_storage_supabase.hooks import storage_connect

BACKEND_NAME = "supabase"
STORES = SupabaseBackend.stores_served

__all__ = [
    "BACKEND_NAME",
    "STORES",
    "SupabaseBackend",
    "SupabaseClient",
    "storage_connect",
]
