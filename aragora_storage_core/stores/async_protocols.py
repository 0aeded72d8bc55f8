"""Async twins of the store protocols: ``await registry.astore(UserStore).get_by_id(...)``.

Generated from ``protocols.py`` by ``scripts/generate-async-protocols``; do not edit.
Every method has the arguments, records and meaning of its synchronous twin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, overload

from aragora_storage_core.models import (
    AgentMetric,
    AuditEntry,
    DebateArtifact,
    NomicCycle,
    Organization,
    ShareLink,
    StreamEvent,
    UsageEvent,
    User,
    Webhook,
)
from aragora_storage_core.stores import protocols
from aragora_storage_core.stores.protocols import StoreKind


class AsyncUserStore(Protocol):
    """User accounts, awaited."""

    async def create(self, user: User) -> User:
        """Insert a new user; ``DuplicateError`` if the id or email exists."""
    async def create_many(self, users: Iterable[User]) -> int:
        """Insert many users in one transaction; return how many."""
    async def get_by_id(self, user_id: str) -> User | None:
        """Return the user or ``None``."""
    async def get_by_email(self, email: str) -> User | None:
        """Return the user with this email or ``None``."""
    async def list_by_org(self, org_id: str) -> list[User]:
        """Users of one organization, oldest first."""
    async def update(self, user_id: str, **fields: Any) -> User:
        """Change the named fields; ``updated_at`` is set for you."""
    async def delete(self, user_id: str) -> bool:
        """Delete the user; ``False`` if there was none."""
    async def record_login(self, user_id: str) -> None:
        """Set ``last_login_at`` and reset the failed-login counter."""
    async def record_failed_login(self, user_id: str) -> int:
        """Add one failed login atomically; return the new count."""
    async def lock(self, user_id: str, until: str, reason: str) -> None:
        """Lock the account until ``until`` (ISO text) for ``reason``."""
    async def count(self) -> int:
        """Number of users."""


class AsyncOrganizationStore(Protocol):
    """Organizations (tenants), awaited."""

    async def create(self, org: Organization) -> Organization:
        """Insert a new organization; ``DuplicateError`` if the id or slug exists."""
    async def get_by_id(self, org_id: str) -> Organization | None:
        """Return the organization or ``None``."""
    async def get_by_slug(self, slug: str) -> Organization | None:
        """Return the organization with this slug or ``None``."""
    async def get_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """Return the organization billed to this Stripe customer or ``None``."""
    async def update(self, org_id: str, **fields: Any) -> Organization:
        """Change the named fields; ``updated_at`` is set for you."""
    async def delete(self, org_id: str) -> bool:
        """Delete the organization; ``False`` if there was none."""
    async def list_all(self, limit: int = 100, offset: int = 0) -> list[Organization]:
        """Organizations by creation time."""


class AsyncAuditStore(Protocol):
    """The security audit log, awaited."""

    async def log(self, entry: AuditEntry) -> int:
        """Append one entry; return its id."""
    async def log_many(self, entries: Iterable[AuditEntry]) -> int:
        """Append many entries in one transaction; return how many."""
    async def query(
        self,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries matching every given filter, newest first."""
    async def cleanup_old_entries(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Delete entries older than the retention (``ARAGORA_AUDIT_RETENTION_DAYS``).

        Return how many; with ``dry_run`` only count them.
        """


class AsyncUsageStore(Protocol):
    """Usage metering with monthly aggregation, awaited."""

    async def record(self, event: UsageEvent) -> int:
        """Record one event; return its id."""
    async def record_many(self, events: Iterable[UsageEvent]) -> int:
        """Record many events in one transaction; return how many."""
    async def totals(self, org_id: str, since: str | None = None) -> dict[str, int]:
        """Sum of ``count`` per event type over the raw events since ``since``."""
    async def monthly_totals(self, org_id: str) -> dict[tuple[str, str], int]:
        """``{(YYYY-MM, event_type): total}``, archived months and live events together."""
    async def aggregate_and_prune(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Fold raw events older than the retention into monthly totals; return how many.

        With ``dry_run`` only count them.
        """


class AsyncShareLinkStore(Protocol):
    """Public share links to debates, awaited."""

    async def create(self, link: ShareLink) -> ShareLink:
        """Insert a link; ``DuplicateError`` if the token exists."""
    async def get(self, token: str) -> ShareLink | None:
        """Return the link or ``None`` (revoked and expired links too)."""
    async def open(self, token: str) -> ShareLink | None:
        """Count one view and return the link, or ``None`` if revoked, expired or used up."""
    async def list_for_debate(self, debate_id: str) -> list[ShareLink]:
        """Links to one debate, oldest first."""
    async def revoke(self, token: str) -> bool:
        """Revoke a link; ``False`` if there was none."""
    async def delete_expired(self, *, dry_run: bool = False) -> int:
        """Delete links past their expiry; return how many (``dry_run``: only count)."""


class AsyncWebhookStore(Protocol):
    """Webhook subscriptions, awaited."""

    async def create(self, hook: Webhook) -> Webhook:
        """Insert a webhook; ``DuplicateError`` if the id exists."""
    async def get(self, hook_id: str) -> Webhook | None:
        """Return the webhook or ``None``."""
    async def list_for_org(self, org_id: str, event: str | None = None) -> list[Webhook]:
        """Active and inactive webhooks of an org; with ``event``, only active subscribers."""
    async def update(self, hook_id: str, **fields: Any) -> Webhook:
        """Change the named fields."""
    async def delete(self, hook_id: str) -> bool:
        """Delete the webhook; ``False`` if there was none."""
    async def record_delivery(self, hook_id: str, success: bool) -> int:
        """Record a delivery attempt; return the consecutive failure count."""


class AsyncTokenBlacklistStore(Protocol):
    """Revoked JWTs, kept until they would have expired anyway, awaited."""

    async def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist a token id until ``expires_at``; revoking twice is harmless."""
    async def is_revoked(self, jti: str) -> bool:
        """True while the token is blacklisted and not yet expired."""
    async def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs; return how many."""
    async def cleanup_expired(self, *, dry_run: bool = False) -> int:
        """Drop entries whose tokens have expired; return how many (``dry_run``: only count)."""


class AsyncNomicCycleStore(Protocol):
    """Nomic loop cycle state, awaited."""

    async def save_cycle(self, cycle: NomicCycle) -> None:
        """Insert or replace the cycle identified by ``(loop_id, cycle_number)``."""
    async def get_cycle(self, loop_id: str, cycle_number: int) -> NomicCycle | None:
        """Return one cycle or ``None``."""
    async def list_cycles(self, loop_id: str) -> list[NomicCycle]:
        """Cycles of one loop in order."""
    async def latest_cycle(self, loop_id: str) -> NomicCycle | None:
        """The highest-numbered cycle of a loop, or ``None``."""
    async def record_rollback(self, loop_id: str, cycle_number: int, reason: str,
                        from_commit: str | None = None, to_commit: str | None = None) -> int:
        """Record a rollback (``nomic_rollbacks``); return its id."""
    async def record_file_change(self, loop_id: str, cycle_number: int, file_path: str,
                           change_type: str, lines_added: int = 0,
                           lines_removed: int = 0) -> int:
        """Record one changed file (``cycle_file_changes``); return its id."""
    async def list_file_changes(self, loop_id: str, cycle_number: int) -> list[dict[str, Any]]:
        """Changed files of one cycle."""


class AsyncDebateArtifactStore(Protocol):
    """Debate transcripts and outcomes, awaited."""

    async def save(self, artifact: DebateArtifact) -> int:
        """Insert an artifact; return its id."""
    async def get(self, artifact_id: int) -> DebateArtifact | None:
        """Return one artifact or ``None``."""
    async def list_for_cycle(self, loop_id: str, cycle_number: int) -> list[DebateArtifact]:
        """Artifacts of one cycle, oldest first."""


class AsyncStreamEventStore(Protocol):
    """Real-time events of nomic loops, awaited."""

    async def append(self, event: StreamEvent) -> str:
        """Append one event; return its id."""
    async def append_many(self, events: Sequence[StreamEvent]) -> list[str]:
        """Append events in order; return their ids."""
    async def read(self, loop_id: str, *, cycle: int | None = None, after: str | None = None,
             limit: int = 100) -> list[StreamEvent]:
        """Events of a loop in order, optionally of one cycle and after an id."""


class AsyncAgentMetricsStore(Protocol):
    """Agent performance metrics, awaited."""

    async def record(self, metric: AgentMetric) -> int:
        """Record one measurement; return its id."""
    async def record_many(self, metrics: Iterable[AgentMetric]) -> int:
        """Record many measurements; return how many."""
    async def for_agent(self, agent: str, metric: str | None = None,
                  limit: int = 100) -> list[AgentMetric]:
        """Measurements of one agent, newest first."""
    async def summary(self, loop_id: str) -> dict[str, dict[str, float]]:
        """``{agent: {metric: mean}}`` over one loop."""


class AsyncCacheStore(Protocol):
    """A key-value cache with expiry, awaited."""

    async def get(self, key: str) -> bytes | None:
        """Return the cached value or ``None``."""
    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        """Store a value, expiring after ``ttl_seconds`` when given."""
    async def delete(self, key: str) -> bool:
        """Remove a key; ``False`` if it was absent."""


class AsyncStores(Protocol):
    """``registry.astore``: the async twin of a store, typed by its protocol."""

    @overload
    def __call__(
        self, kind: Callable[..., protocols.UserStore],
    ) -> AsyncUserStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.OrganizationStore],
    ) -> AsyncOrganizationStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.AuditStore],
    ) -> AsyncAuditStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.UsageStore],
    ) -> AsyncUsageStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.ShareLinkStore],
    ) -> AsyncShareLinkStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.WebhookStore],
    ) -> AsyncWebhookStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.TokenBlacklistStore],
    ) -> AsyncTokenBlacklistStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.NomicCycleStore],
    ) -> AsyncNomicCycleStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.DebateArtifactStore],
    ) -> AsyncDebateArtifactStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.StreamEventStore],
    ) -> AsyncStreamEventStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.AgentMetricsStore],
    ) -> AsyncAgentMetricsStore: ...

    @overload
    def __call__(
        self, kind: Callable[..., protocols.CacheStore],
    ) -> AsyncCacheStore: ...

    @overload
    def __call__(self, kind: StoreKind | str) -> Any: ...

    def __call__(self, kind: Any) -> Any:
        """The async store ``kind`` (a protocol class, a kind or its name)."""


__all__ = [
    "AsyncAgentMetricsStore",
    "AsyncAuditStore",
    "AsyncCacheStore",
    "AsyncDebateArtifactStore",
    "AsyncNomicCycleStore",
    "AsyncOrganizationStore",
    "AsyncShareLinkStore",
    "AsyncStores",
    "AsyncStreamEventStore",
    "AsyncTokenBlacklistStore",
    "AsyncUsageStore",
    "AsyncUserStore",
    "AsyncWebhookStore",
]
