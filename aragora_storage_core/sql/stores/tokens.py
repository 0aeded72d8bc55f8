"""The JWT revocation list on any SQL database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aragora_storage_core.models import to_iso, utcnow_iso
from aragora_storage_core.sql.stores.base import SQLStore
from aragora_storage_core.stores.protocols import TokenBlacklistStore


class SQLTokenBlacklistStore(SQLStore, TokenBlacklistStore):
    """:class:`~aragora_storage_core.stores.TokenBlacklistStore` on SQL."""

    table = "token_blacklist"
    columns = ("jti", "expires_at", "user_id", "revoked_at")

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.upsert_sql(key=("jti",))
        self._check = self.prepare("SELECT 1 FROM token_blacklist WHERE jti = ? AND expires_at > ?")

    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist a token id until ``expires_at``; revoking twice is harmless."""
        with self._db.transaction() as tx:
            tx.execute(self._insert, (jti, to_iso(expires_at), user_id, utcnow_iso()),
                       label="token_blacklist.revoke")

    def is_revoked(self, jti: str) -> bool:
        """True while the token is blacklisted and not yet expired."""
        row = self._db.fetch_one(self._check, (jti, utcnow_iso()), "token_blacklist.is_revoked")
        return row is not None

    def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs; return how many were given."""
        now = utcnow_iso()
        rows = [(jti, to_iso(exp), None, now) for jti, exp in tokens]
        with self._db.transaction() as tx:
            return tx.execute_many(self._insert, rows, label="token_blacklist.revoke_many")

    def cleanup_expired(self, *, dry_run: bool = False) -> int:
        """Drop entries whose tokens have expired; return how many."""
        return self.remove_where("expires_at <= ?", (utcnow_iso(),), dry_run=dry_run)
