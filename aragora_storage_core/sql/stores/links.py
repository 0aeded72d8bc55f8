"""Share links and webhooks on any SQL database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from aragora_storage_core.columns import ColumnCipher, PlainColumns
from aragora_storage_core.errors import NotFoundError
from aragora_storage_core.models import ShareLink, Webhook, to_iso, utcnow_iso
from aragora_storage_core.sql.stores.base import SQLStore, as_int, dumps, loads
from aragora_storage_core.stores.protocols import ShareLinkStore, WebhookStore

SHARE_COLUMNS = (
    "token", "debate_id", "org_id", "created_by", "created_at", "expires_at", "max_views",
    "view_count", "revoked",
)
_SHARE_SELECT = f"SELECT {', '.join(SHARE_COLUMNS)} FROM share_links"


def share_from_row(row: tuple[Any, ...]) -> ShareLink:
    """Build a :class:`ShareLink` from a row in ``SHARE_COLUMNS`` order."""
    return ShareLink(
        token=row[0], debate_id=row[1], org_id=row[2], created_by=row[3], created_at=row[4],
        expires_at=row[5], max_views=row[6], view_count=row[7], revoked=bool(row[8]),
    )


def share_to_row(link: ShareLink) -> tuple[Any, ...]:
    """The row for ``link`` in ``SHARE_COLUMNS`` order."""
    return (link.token, link.debate_id, link.org_id, link.created_by,
            to_iso(link.created_at) or utcnow_iso(), to_iso(link.expires_at), link.max_views,
            link.view_count, int(link.revoked))


class SQLShareLinkStore(SQLStore, ShareLinkStore):
    """:class:`~aragora_storage_core.stores.ShareLinkStore` on SQL."""

    table = "share_links"
    columns = SHARE_COLUMNS

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql()
        self._get = self.prepare(f"{_SHARE_SELECT} WHERE token = ?")
        self._open = self.update_returning_sql(
            "view_count = view_count + 1",
            "token = ? AND revoked = 0 AND (expires_at IS NULL OR expires_at > ?)"
            " AND (max_views IS NULL OR view_count < max_views)", "token", SHARE_COLUMNS)
        self._by_debate = self.prepare(f"{_SHARE_SELECT} WHERE debate_id = ? ORDER BY created_at")
        self._revoke = self.prepare("UPDATE share_links SET revoked = 1 WHERE token = ?")

    def create(self, link: ShareLink) -> ShareLink:
        """Insert a link; ``DuplicateError`` if the token exists."""
        row = share_to_row(link)
        with self.unique("share token"), self._db.transaction() as tx:
            tx.execute(self._insert, row, label="share_links.create")
        return share_from_row(row)

    def get(self, token: str) -> ShareLink | None:
        """Return the link or ``None`` (revoked and expired links too)."""
        row = self._db.fetch_one(self._get, (token,), "share_links.get")
        return None if row is None else share_from_row(row)

    def open(self, token: str) -> ShareLink | None:
        """Count one view atomically and return the link, or ``None`` if it cannot be used."""
        with self._db.transaction() as tx:
            row = self.fetch_updated(tx, self._open, (token, utcnow_iso()), "share_links.open")
        return None if row is None else share_from_row(row)

    def list_for_debate(self, debate_id: str) -> list[ShareLink]:
        """Links to one debate, oldest first."""
        return [share_from_row(r) for r in self._db.fetch_all(self._by_debate, (debate_id,))]

    def revoke(self, token: str) -> bool:
        """Revoke a link; ``False`` if there was none."""
        with self._db.transaction() as tx:
            return tx.execute(self._revoke, (token,), label="share_links.revoke") > 0

    def delete_expired(self, *, dry_run: bool = False) -> int:
        """Delete links past their expiry; return how many."""
        return self.remove_where("expires_at IS NOT NULL AND expires_at <= ?", (utcnow_iso(),),
                                 dry_run=dry_run)


WEBHOOK_COLUMNS = (
    "id", "org_id", "url", "secret", "events", "active", "created_at", "updated_at",
    "last_triggered_at", "failure_count",
)
_WEBHOOK_SELECT = f"SELECT {', '.join(WEBHOOK_COLUMNS)} FROM webhooks"


def webhook_from_row(row: tuple[Any, ...], cipher: ColumnCipher) -> Webhook:
    """Build a :class:`Webhook` from a row in ``WEBHOOK_COLUMNS`` order, secret unsealed."""
    secret = row[3]
    if secret is not None:
        secret = cipher.decrypt("webhooks", "secret", secret)
    return Webhook(row[0], row[1], row[2], secret, loads(row[4]), bool(row[5]), *row[6:])


def webhook_to_row(hook: Webhook, cipher: ColumnCipher) -> tuple[Any, ...]:
    """The row for ``hook`` in ``WEBHOOK_COLUMNS`` order, secret sealed."""
    now = utcnow_iso()
    secret = None if hook.secret is None else cipher.encrypt("webhooks", "secret", hook.secret)
    return (hook.id, hook.org_id, hook.url, secret, dumps(hook.events), int(hook.active),
            to_iso(hook.created_at) or now, to_iso(hook.updated_at) or now,
            to_iso(hook.last_triggered_at), hook.failure_count)


class SQLWebhookStore(SQLStore, WebhookStore):
    """:class:`~aragora_storage_core.stores.WebhookStore` on SQL; ``secret`` is encrypted."""

    table = "webhooks"
    columns = WEBHOOK_COLUMNS
    encoders: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "events": dumps, "active": as_int, "created_at": to_iso, "updated_at": to_iso,
        "last_triggered_at": to_iso,
    }

    def __init__(self, db: Any, cipher: ColumnCipher | None = None) -> None:
        super().__init__(db)
        self._cipher: ColumnCipher = cipher or PlainColumns()
        self._insert = self.insert_sql()
        self._get = self.prepare(f"{_WEBHOOK_SELECT} WHERE id = ?")
        self._by_org = self.prepare(f"{_WEBHOOK_SELECT} WHERE org_id = ? ORDER BY created_at, id")
        self._delete = self.prepare("DELETE FROM webhooks WHERE id = ?")
        self._success = self.update_returning_sql(
            "failure_count = 0, last_triggered_at = ?", "id = ?", "id", ("failure_count",))
        self._failure = self.update_returning_sql(
            "failure_count = failure_count + 1, last_triggered_at = ?", "id = ?", "id",
            ("failure_count",))

    def encode(self, column: str, value: Any) -> Any:
        """Seal ``secret`` with the column cipher; other columns as the base encodes them."""
        return self._seal(value) if column == "secret" else super().encode(column, value)

    def _seal(self, secret: str | None) -> str | None:
        return None if secret is None else self._cipher.encrypt("webhooks", "secret", secret)

    def _from_row(self, row: tuple[Any, ...]) -> Webhook:
        return webhook_from_row(row, self._cipher)

    def create(self, hook: Webhook) -> Webhook:
        """Insert a webhook; ``DuplicateError`` if the id exists."""
        row = webhook_to_row(hook, self._cipher)
        with self.unique("webhook id"), self._db.transaction() as tx:
            tx.execute(self._insert, row, label="webhooks.create")
        return Webhook(hook.id, hook.org_id, hook.url, hook.secret, list(hook.events),
                       hook.active, row[6], row[7], row[8], hook.failure_count)

    def get(self, hook_id: str) -> Webhook | None:
        """Return the webhook or ``None``."""
        row = self._db.fetch_one(self._get, (hook_id,), "webhooks.get")
        return None if row is None else self._from_row(row)

    def list_for_org(self, org_id: str, event: str | None = None) -> list[Webhook]:
        """Webhooks of an org; with ``event``, only the active ones subscribed to it."""
        hooks = [self._from_row(r) for r in self._db.fetch_all(self._by_org, (org_id,))]
        if event is None:
            return hooks
        return [h for h in hooks if h.active and (event in h.events or "*" in h.events)]

    def update(self, hook_id: str, **fields: Any) -> Webhook:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        self.update_fields("id", hook_id, fields)
        hook = self.get(hook_id)
        assert hook is not None
        return hook

    def delete(self, hook_id: str) -> bool:
        """Delete the webhook; ``False`` if there was none."""
        with self._db.transaction() as tx:
            return tx.execute(self._delete, (hook_id,), label="webhooks.delete") > 0

    def record_delivery(self, hook_id: str, success: bool) -> int:
        """Record a delivery attempt; return the consecutive failure count."""
        sql = self._success if success else self._failure
        with self._db.transaction() as tx:
            row = self.fetch_updated(tx, sql, (utcnow_iso(), hook_id), "webhooks.record_delivery")
        if row is None:
            raise NotFoundError(f"webhooks: no record {hook_id!r}", "check the id")
        return int(row[0])
