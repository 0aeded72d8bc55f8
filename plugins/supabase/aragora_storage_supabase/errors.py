"""The Supabase backend's own kinds of the core's typed errors."""

from __future__ import annotations

from aragora_storage_core.errors import BackendUnavailableError, MigrationError


class KeyRejectedError(BackendUnavailableError):
    """The project answered 401: ``SUPABASE_KEY`` is not a key of this project."""

    code = "storage.E091"


class TablesMissingError(MigrationError):
    """A table of the seed's Supabase schema does not exist in the project (yet)."""

    code = "storage.E092"


#: How to give the service role what the tables need (what ``migrate`` does).
GRANTS_HINT = ("aragora-storage migrate --migrate (it grants them), or in the SQL editor: "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "
               "service_role")


class GrantsMissingError(MigrationError):
    """The service role lacks privileges on the tables (Supabase no longer grants new
    ``public`` tables to it by default)."""

    code = "storage.E094"
