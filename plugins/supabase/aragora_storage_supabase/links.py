"""Share links, webhooks and the token blacklist over PostgREST; opening a link and
recording a delivery are database functions (atomic read-modify-writes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from aragora_storage_core.columns import ColumnCipher, PlainColumns
from aragora_storage_core.errors import NotFoundError
from aragora_storage_core.models import ShareLink, Webhook, to_iso, utcnow_iso
from aragora_storage_core.sql.stores.links import (
    SHARE_COLUMNS,
    WEBHOOK_COLUMNS,
    SQLWebhookStore,
    share_from_row,
    share_to_row,
    webhook_from_row,
    webhook_to_row,
)
from aragora_storage_supabase.base import SupabaseStore, values


class SupabaseShareLinkStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.ShareLinkStore` on ``share_links``."""

    table = "share_links"
    columns = SHARE_COLUMNS

    def create(self, link: ShareLink) -> ShareLink:
        """Insert a link; ``DuplicateError`` if the token exists."""
        row = share_to_row(link)
        self.insert([row], "share_links.create")
        return share_from_row(row)

    def get(self, token: str) -> ShareLink | None:
        """Return the link or ``None`` (revoked and expired links too)."""
        row = self.first(self.select().eq("token", token), "share_links.get")
        return None if row is None else share_from_row(row)

    def open(self, token: str) -> ShareLink | None:
        """Count one view atomically (a database function) and return the link, or
        ``None`` if it cannot be used."""
        rows = self._project.rpc("aragora_open_share_link",
                                 {"p_token": token, "p_now": utcnow_iso()}, "share_links.open")
        return share_from_row(values(rows[0], SHARE_COLUMNS)) if rows else None

    def list_for_debate(self, debate_id: str) -> list[ShareLink]:
        """Links to one debate, oldest first."""
        rows = self.fetch(lambda: self.select().eq("debate_id", debate_id)
                          .order("created_at").order("token"), "share_links.list_for_debate")
        return [share_from_row(r) for r in rows]

    def revoke(self, token: str) -> bool:
        """Revoke a link; ``False`` if there was none."""
        query = self._table("share_links").update({"revoked": 1}).eq("token", token) \
            .select("token")
        return bool(self._run(query, "share_links.revoke", idempotent=False))

    def delete_expired(self, *, dry_run: bool = False) -> int:
        """Delete links past their expiry; return how many."""
        now = utcnow_iso()
        return self.remove(lambda q: q.lte("expires_at", now), "share_links.delete_expired",
                           dry_run=dry_run)


class SupabaseWebhookStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.WebhookStore` on ``webhooks``; ``secret`` is
    sealed with the column cipher (``ARAGORA_ENCRYPTION_KEY``) before it leaves."""

    table = "webhooks"
    columns = WEBHOOK_COLUMNS
    encoders: ClassVar = SQLWebhookStore.encoders

    def __init__(self, project: Any, cipher: ColumnCipher | None = None) -> None:
        super().__init__(project)
        self._cipher: ColumnCipher = cipher or PlainColumns()

    def encode(self, column: str, value: Any) -> Any:
        """Seal ``secret``; other columns as the shared encoders store them."""
        if column == "secret":
            return None if value is None else self._cipher.encrypt("webhooks", "secret", value)
        return super().encode(column, value)

    def create(self, hook: Webhook) -> Webhook:
        """Insert a webhook; ``DuplicateError`` if the id exists."""
        row = webhook_to_row(hook, self._cipher)
        self.insert([row], "webhooks.create")
        return Webhook(hook.id, hook.org_id, hook.url, hook.secret, list(hook.events),
                       hook.active, row[6], row[7], row[8], hook.failure_count)

    def get(self, hook_id: str) -> Webhook | None:
        """Return the webhook or ``None``."""
        row = self.first(self.select().eq("id", hook_id), "webhooks.get")
        return None if row is None else webhook_from_row(row, self._cipher)

    def list_for_org(self, org_id: str, event: str | None = None) -> list[Webhook]:
        """Webhooks of an org; with ``event``, only the active ones subscribed to it."""
        rows = self.fetch(lambda: self.select().eq("org_id", org_id).order("created_at")
                          .order("id"), "webhooks.list_for_org")
        hooks = [webhook_from_row(r, self._cipher) for r in rows]
        if event is None:
            return hooks
        return [h for h in hooks if h.active and (event in h.events or "*" in h.events)]

    def update(self, hook_id: str, **fields: Any) -> Webhook:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        return webhook_from_row(self.patch("id", hook_id, fields, "webhooks.update"),
                                self._cipher)

    def delete(self, hook_id: str) -> bool:
        """Delete the webhook; ``False`` if there was none."""
        return self.remove(lambda q: q.eq("id", hook_id), "webhooks.delete") > 0

    def record_delivery(self, hook_id: str, success: bool) -> int:
        """Record a delivery attempt atomically (a database function); return the
        consecutive failure count."""
        count = self._project.rpc(
            "aragora_record_delivery",
            {"p_id": hook_id, "p_success": success, "p_now": utcnow_iso()},
            "webhooks.record_delivery")
        if count is None:
            raise NotFoundError(f"webhooks: no record {hook_id!r}", "check the id")
        return int(count)


class SupabaseTokenBlacklistStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.TokenBlacklistStore` on ``token_blacklist``."""

    table = "token_blacklist"
    columns = ("jti", "expires_at", "user_id", "revoked_at")

    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist a token id until ``expires_at``; revoking twice is harmless."""
        self.insert([(jti, to_iso(expires_at), user_id, utcnow_iso())],
                    "token_blacklist.revoke", skip_existing="jti")

    def is_revoked(self, jti: str) -> bool:
        """True while the token is blacklisted and not yet expired."""
        query = self._table(self.table).select("jti").eq("jti", jti) \
            .gt("expires_at", utcnow_iso()).limit(1)
        return bool(self._run(query, "token_blacklist.is_revoked"))

    def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs; return how many were given."""
        now = utcnow_iso()
        return self.insert([(jti, to_iso(exp), None, now) for jti, exp in tokens],
                           "token_blacklist.revoke_many", skip_existing="jti")

    def cleanup_expired(self, *, dry_run: bool = False) -> int:
        """Drop entries whose tokens have expired; return how many."""
        now = utcnow_iso()
        return self.remove(lambda q: q.lte("expires_at", now), "token_blacklist.cleanup",
                           dry_run=dry_run)
