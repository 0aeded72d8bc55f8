"""Users and organizations over PostgREST; the failed-login counter is a database function."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from aragora_storage_core.models import Organization, User, to_iso, utcnow_iso
from aragora_storage_core.sql.stores.accounts import (
    ORG_COLUMNS,
    USER_COLUMNS,
    SQLOrganizationStore,
    SQLUserStore,
    org_from_row,
    org_to_row,
    user_from_row,
    user_to_row,
)
from aragora_storage_supabase.base import SupabaseStore


class SupabaseUserStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.UserStore` on ``users``."""

    table = "users"
    columns = USER_COLUMNS
    encoders: ClassVar = SQLUserStore.encoders

    def create(self, user: User) -> User:
        """Insert a new user; ``DuplicateError`` if the id or email exists."""
        row = user_to_row(user)
        self.insert([row], "users.create")
        return user_from_row(row)

    def create_many(self, users: Iterable[User]) -> int:
        """Insert many users, one request (one transaction) per page of rows."""
        return self.insert([user_to_row(u) for u in users], "users.create_many")

    def get_by_id(self, user_id: str) -> User | None:
        """Return the user or ``None``."""
        row = self.first(self.select().eq("id", user_id), "users.get_by_id")
        return None if row is None else user_from_row(row)

    def get_by_email(self, email: str) -> User | None:
        """Return the user with this email or ``None``."""
        row = self.first(self.select().eq("email", email), "users.get_by_email")
        return None if row is None else user_from_row(row)

    def list_by_org(self, org_id: str) -> list[User]:
        """Users of one organization, oldest first."""
        rows = self.fetch(lambda: self.select().eq("org_id", org_id).order("created_at")
                          .order("id"), "users.list_by_org")
        return [user_from_row(r) for r in rows]

    def update(self, user_id: str, **fields: Any) -> User:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        return user_from_row(self.patch("id", user_id, fields, "users.update"))

    def delete(self, user_id: str) -> bool:
        """Delete the user; ``False`` if there was none."""
        return self.remove(lambda q: q.eq("id", user_id), "users.delete") > 0

    def record_login(self, user_id: str) -> None:
        """Set ``last_login_at`` and reset the failed-login counter and lock."""
        now = utcnow_iso()
        query = self._table("users").update({
            "last_login_at": now, "last_activity_at": now, "failed_login_count": 0,
            "locked_until": None, "lockout_reason": None}).eq("id", user_id)
        self._run(query, "users.record_login", idempotent=False)

    def record_failed_login(self, user_id: str) -> int:
        """Add one failed login atomically (a database function); return the new count."""
        count = self._project.rpc("aragora_record_failed_login", {"p_user_id": user_id},
                                  "users.record_failed_login")
        return 0 if count is None else int(count)

    def lock(self, user_id: str, until: str, reason: str) -> None:
        """Lock the account until ``until`` (ISO text) for ``reason``."""
        query = self._table("users").update({
            "locked_until": to_iso(until), "lockout_reason": reason,
            "updated_at": utcnow_iso()}).eq("id", user_id)
        self._run(query, "users.lock", idempotent=False)

    def count(self) -> int:
        """Number of users."""
        from postgrest.types import CountMethod

        query = self._table("users").select("id", count=CountMethod.exact, head=True)
        return int(self._project.execute(query, "users.count").count or 0)


class SupabaseOrganizationStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.OrganizationStore` on ``organizations``."""

    table = "organizations"
    columns = ORG_COLUMNS
    encoders: ClassVar = SQLOrganizationStore.encoders

    def create(self, org: Organization) -> Organization:
        """Insert a new organization; ``DuplicateError`` if the id or slug exists."""
        row = org_to_row(org)
        self.insert([row], "organizations.create")
        return org_from_row(row)

    def _by(self, column: str, value: str, operation: str) -> Organization | None:
        row = self.first(self.select().eq(column, value), operation)
        return None if row is None else org_from_row(row)

    def get_by_id(self, org_id: str) -> Organization | None:
        """Return the organization or ``None``."""
        return self._by("id", org_id, "organizations.get_by_id")

    def get_by_slug(self, slug: str) -> Organization | None:
        """Return the organization with this slug or ``None``."""
        return self._by("slug", slug, "organizations.get_by_slug")

    def get_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """Return the organization billed to this Stripe customer or ``None``."""
        return self._by("stripe_customer_id", customer_id, "organizations.get_by_stripe")

    def update(self, org_id: str, **fields: Any) -> Organization:
        """Change the named fields; ``updated_at`` is set for you."""
        fields.setdefault("updated_at", utcnow_iso())
        return org_from_row(self.patch("id", org_id, fields, "organizations.update"))

    def delete(self, org_id: str) -> bool:
        """Delete the organization; ``False`` if there was none."""
        return self.remove(lambda q: q.eq("id", org_id), "organizations.delete") > 0

    def list_all(self, limit: int = 100, offset: int = 0) -> list[Organization]:
        """Organizations by creation time."""
        rows = self.fetch(lambda: self.select().order("created_at").order("id"),
                          "organizations.list_all", limit, offset)
        return [org_from_row(r) for r in rows]
