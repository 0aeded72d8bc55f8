"""Users and organizations on any SQL database."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from aragora_storage_core.models import Organization, User, to_iso, utcnow_iso
from aragora_storage_core.sql.stores.base import SQLStore, as_int, dumps, loads
from aragora_storage_core.stores.protocols import OrganizationStore, UserStore

USER_COLUMNS = (
    "id", "email", "password_hash", "password_salt", "name", "org_id", "role",
    "created_at", "updated_at", "last_login_at", "is_active", "email_verified",
    "avatar_url", "preferences", "locked_until", "failed_login_count", "lockout_reason",
    "last_activity_at", "last_debate_at",
)
_USER_SELECT = f"SELECT {', '.join(USER_COLUMNS)} FROM users"


def user_from_row(row: tuple[Any, ...]) -> User:
    """Build a :class:`User` from a row in ``USER_COLUMNS`` order.

    ``USER_COLUMNS`` is the order of :class:`User`'s fields, so the arguments are
    positional: on this hot path keywords cost a third more (``benchmarks/bench_sqlite.py``).
    """
    return User(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        bool(row[10]), bool(row[11]), row[12], loads(row[13]), row[14], row[15], row[16],
        row[17], row[18],
    )


def user_to_row(user: User) -> tuple[Any, ...]:
    """The row for ``user`` in ``USER_COLUMNS`` order."""
    now = utcnow_iso()
    return (
        user.id, user.email, user.password_hash, user.password_salt, user.name, user.org_id,
        user.role, to_iso(user.created_at) or now, to_iso(user.updated_at) or now,
        to_iso(user.last_login_at), int(user.is_active), int(user.email_verified),
        user.avatar_url, dumps(user.preferences), to_iso(user.locked_until),
        user.failed_login_count, user.lockout_reason, to_iso(user.last_activity_at),
        to_iso(user.last_debate_at),
    )


class SQLUserStore(SQLStore, UserStore):
    """:class:`~aragora_storage_core.stores.UserStore` on SQL."""

    table = "users"
    columns = USER_COLUMNS
    encoders: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "is_active": as_int, "email_verified": as_int, "preferences": dumps,
        "created_at": to_iso, "updated_at": to_iso, "last_login_at": to_iso,
        "locked_until": to_iso, "last_activity_at": to_iso, "last_debate_at": to_iso,
    }

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql()
        self._by_id = self.prepare(f"{_USER_SELECT} WHERE id = ?")
        self._by_email = self.prepare(f"{_USER_SELECT} WHERE email = ?")
        self._by_org = self.prepare(f"{_USER_SELECT} WHERE org_id = ? ORDER BY created_at, id")
        self._delete = self.prepare("DELETE FROM users WHERE id = ?")
        self._login = self.prepare(
            "UPDATE users SET last_login_at = ?, last_activity_at = ?, failed_login_count = 0,"
            " locked_until = NULL, lockout_reason = NULL WHERE id = ?"
        )
        self._failed = self.update_returning_sql(
            "failed_login_count = failed_login_count + 1", "id = ?", "id",
            ("failed_login_count",))
        self._lock = self.prepare(
            "UPDATE users SET locked_until = ?, lockout_reason = ?, updated_at = ? WHERE id = ?"
        )
        self._count = "SELECT count(*) FROM users"

    def create(self, user: User) -> User:
        """Insert a new user; ``DuplicateError`` if the id or email exists."""
        row = user_to_row(user)
        with self.unique("user id or email"), self._db.transaction() as tx:
            tx.execute(self._insert, row, label="users.create")
        return user_from_row(row)

    def create_many(self, users: Iterable[User]) -> int:
        """Insert many users in one transaction with the driver's bulk method."""
        rows = [user_to_row(u) for u in users]
        with self.unique("user id or email"), self._db.transaction() as tx:
            return tx.execute_many(self._insert, rows, label="users.create_many")

    def get_by_id(self, user_id: str) -> User | None:
        """Return the user or ``None``."""
        row = self._db.fetch_one(self._by_id, (user_id,), "users.get_by_id")
        return None if row is None else user_from_row(row)

    def get_by_email(self, email: str) -> User | None:
        """Return the user with this email or ``None``."""
        row = self._db.fetch_one(self._by_email, (email,), "users.get_by_email")
        return None if row is None else user_from_row(row)

    def list_by_org(self, org_id: str) -> list[User]:
        """Users of one organization, oldest first."""
        return [user_from_row(r) for r in self._db.fetch_all(self._by_org, (org_id,))]

    def update(self, user_id: str, **fields: Any) -> User:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        self.update_fields("id", user_id, fields)
        user = self.get_by_id(user_id)
        assert user is not None
        return user

    def delete(self, user_id: str) -> bool:
        """Delete the user; ``False`` if there was none."""
        with self._db.transaction() as tx:
            return tx.execute(self._delete, (user_id,), label="users.delete") > 0

    def record_login(self, user_id: str) -> None:
        """Set ``last_login_at`` and reset the failed-login counter and lock."""
        now = utcnow_iso()
        with self._db.transaction() as tx:
            tx.execute(self._login, (now, now, user_id), label="users.record_login")

    def record_failed_login(self, user_id: str) -> int:
        """Add one failed login atomically; return the new count (0 if no such user)."""
        with self._db.transaction() as tx:
            row = self.fetch_updated(tx, self._failed, (user_id,), "users.record_failed_login")
        return 0 if row is None else int(row[0])

    def lock(self, user_id: str, until: str, reason: str) -> None:
        """Lock the account until ``until`` (ISO text) for ``reason``."""
        with self._db.transaction() as tx:
            tx.execute(self._lock, (to_iso(until), reason, utcnow_iso(), user_id),
                       label="users.lock")

    def count(self) -> int:
        """Number of users."""
        row = self._db.fetch_one(self._count)
        return int(row[0]) if row else 0


ORG_COLUMNS = (
    "id", "name", "slug", "tier", "owner_id", "stripe_customer_id", "stripe_subscription_id",
    "created_at", "updated_at", "settings",
)
_ORG_SELECT = f"SELECT {', '.join(ORG_COLUMNS)} FROM organizations"


def org_from_row(row: tuple[Any, ...]) -> Organization:
    """Build an :class:`Organization` from a row in ``ORG_COLUMNS`` order."""
    return Organization(
        id=row[0], name=row[1], slug=row[2], tier=row[3], owner_id=row[4],
        stripe_customer_id=row[5], stripe_subscription_id=row[6], created_at=row[7],
        updated_at=row[8], settings=loads(row[9]),
    )


def org_to_row(org: Organization) -> tuple[Any, ...]:
    """The row for ``org`` in ``ORG_COLUMNS`` order."""
    now = utcnow_iso()
    return (org.id, org.name, org.slug, org.tier, org.owner_id, org.stripe_customer_id,
            org.stripe_subscription_id, to_iso(org.created_at) or now,
            to_iso(org.updated_at) or now, dumps(org.settings))


class SQLOrganizationStore(SQLStore, OrganizationStore):
    """:class:`~aragora_storage_core.stores.OrganizationStore` on SQL."""

    table = "organizations"
    columns = ORG_COLUMNS
    encoders: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "settings": dumps, "created_at": to_iso, "updated_at": to_iso,
    }

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql()
        self._by_id = self.prepare(f"{_ORG_SELECT} WHERE id = ?")
        self._by_slug = self.prepare(f"{_ORG_SELECT} WHERE slug = ?")
        self._by_stripe = self.prepare(f"{_ORG_SELECT} WHERE stripe_customer_id = ?")
        self._all = self.prepare(f"{_ORG_SELECT} ORDER BY created_at, id LIMIT ? OFFSET ?")
        self._delete = self.prepare("DELETE FROM organizations WHERE id = ?")

    def create(self, org: Organization) -> Organization:
        """Insert a new organization; ``DuplicateError`` if the id or slug exists."""
        row = org_to_row(org)
        with self.unique("organization id or slug"), self._db.transaction() as tx:
            tx.execute(self._insert, row, label="organizations.create")
        return org_from_row(row)

    def get_by_id(self, org_id: str) -> Organization | None:
        """Return the organization or ``None``."""
        row = self._db.fetch_one(self._by_id, (org_id,), "organizations.get_by_id")
        return None if row is None else org_from_row(row)

    def get_by_slug(self, slug: str) -> Organization | None:
        """Return the organization with this slug or ``None``."""
        row = self._db.fetch_one(self._by_slug, (slug,), "organizations.get_by_slug")
        return None if row is None else org_from_row(row)

    def get_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """Return the organization billed to this Stripe customer or ``None``."""
        row = self._db.fetch_one(self._by_stripe, (customer_id,))
        return None if row is None else org_from_row(row)

    def update(self, org_id: str, **fields: Any) -> Organization:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        self.update_fields("id", org_id, fields)
        org = self.get_by_id(org_id)
        assert org is not None
        return org

    def delete(self, org_id: str) -> bool:
        """Delete the organization; ``False`` if there was none."""
        with self.unique("organization still referenced"), self._db.transaction() as tx:
            return tx.execute(self._delete, (org_id,), label="organizations.delete") > 0

    def list_all(self, limit: int = 100, offset: int = 0) -> list[Organization]:
        """Organizations by creation time."""
        return [org_from_row(r) for r in self._db.fetch_all(self._all, (limit, offset))]
