"""The Supabase backend's own kinds of the core's typed errors."""

from __future__ import annotations

from aragora_storage_core.errors import BackendUnavailableError, MigrationError


class KeyRejectedError(BackendUnavailableError):
    """The project answered 401: ``SUPABASE_KEY`` is not a key of this project."""

    code = "storage.E091"


class TablesMissingError(MigrationError):
    """A table of the seed's Supabase schema does not exist in the project (yet)."""

    code = "storage.E092"
