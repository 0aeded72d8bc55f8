"""The store protocols. Every backend implements the ones it declares it serves.

Methods that change one record return the record as stored; lookups return ``None``
when nothing matches; changing a record that does not exist raises ``NotFoundError``;
creating one whose unique key exists raises ``DuplicateError``. Text compares exactly,
byte for byte, on every backend: ``Ada@x`` and ``ada@x`` are two emails, and looking one up
never finds the other (a backend whose database folds case, as MariaDB's default
collation does, must store text with a binary collation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

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


class StoreKind(StrEnum):
    """Names under which stores are asked for: ``registry.store("users")``."""

    USERS = "users"
    ORGANIZATIONS = "organizations"
    AUDIT = "audit"
    USAGE = "usage"
    SHARE_LINKS = "share_links"
    WEBHOOKS = "webhooks"
    TOKEN_BLACKLIST = "token_blacklist"
    NOMIC_CYCLES = "nomic_cycles"
    DEBATE_ARTIFACTS = "debate_artifacts"
    STREAM_EVENTS = "stream_events"
    AGENT_METRICS = "agent_metrics"
    CACHE = "cache"


@runtime_checkable
class UserStore(Protocol):
    """User accounts."""

    def create(self, user: User) -> User:
        """Insert a new user; ``DuplicateError`` if the id or email exists."""
    def create_many(self, users: Iterable[User]) -> int:
        """Insert many users in one transaction; return how many."""
    def get_by_id(self, user_id: str) -> User | None:
        """Return the user or ``None``."""
    def get_by_email(self, email: str) -> User | None:
        """Return the user with this email or ``None``."""
    def list_by_org(self, org_id: str) -> list[User]:
        """Users of one organization, oldest first."""
    def update(self, user_id: str, **fields: Any) -> User:
        """Change the named fields; ``updated_at`` is set for you."""
    def delete(self, user_id: str) -> bool:
        """Delete the user; ``False`` if there was none."""
    def record_login(self, user_id: str) -> None:
        """Set ``last_login_at`` and reset the failed-login counter."""
    def record_failed_login(self, user_id: str) -> int:
        """Add one failed login atomically; return the new count."""
    def lock(self, user_id: str, until: str, reason: str) -> None:
        """Lock the account until ``until`` (ISO text) for ``reason``."""
    def count(self) -> int:
        """Number of users."""


@runtime_checkable
class OrganizationStore(Protocol):
    """Organizations (tenants)."""

    def create(self, org: Organization) -> Organization:
        """Insert a new organization; ``DuplicateError`` if the id or slug exists."""
    def get_by_id(self, org_id: str) -> Organization | None:
        """Return the organization or ``None``."""
    def get_by_slug(self, slug: str) -> Organization | None:
        """Return the organization with this slug or ``None``."""
    def get_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """Return the organization billed to this Stripe customer or ``None``."""
    def update(self, org_id: str, **fields: Any) -> Organization:
        """Change the named fields; ``updated_at`` is set for you."""
    def delete(self, org_id: str) -> bool:
        """Delete the organization; ``False`` if there was none."""
    def list_all(self, limit: int = 100, offset: int = 0) -> list[Organization]:
        """Organizations by creation time."""


@runtime_checkable
class AuditStore(Protocol):
    """The security audit log."""

    def log(self, entry: AuditEntry) -> int:
        """Append one entry; return its id."""
    def log_many(self, entries: Iterable[AuditEntry]) -> int:
        """Append many entries in one transaction; return how many."""
    def query(
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
    def cleanup_old_entries(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Delete entries older than the retention (``ARAGORA_AUDIT_RETENTION_DAYS``).

        Return how many; with ``dry_run`` only count them.
        """


@runtime_checkable
class UsageStore(Protocol):
    """Usage metering with monthly aggregation."""

    def record(self, event: UsageEvent) -> int:
        """Record one event; return its id."""
    def record_many(self, events: Iterable[UsageEvent]) -> int:
        """Record many events in one transaction; return how many."""
    def totals(self, org_id: str, since: str | None = None) -> dict[str, int]:
        """Sum of ``count`` per event type over the raw events since ``since``."""
    def monthly_totals(self, org_id: str) -> dict[tuple[str, str], int]:
        """``{(YYYY-MM, event_type): total}``, archived months and live events together."""
    def aggregate_and_prune(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Fold raw events older than the retention into monthly totals; return how many.

        With ``dry_run`` only count them.
        """


@runtime_checkable
class ShareLinkStore(Protocol):
    """Public share links to debates."""

    def create(self, link: ShareLink) -> ShareLink:
        """Insert a link; ``DuplicateError`` if the token exists."""
    def get(self, token: str) -> ShareLink | None:
        """Return the link or ``None`` (revoked and expired links too)."""
    def open(self, token: str) -> ShareLink | None:
        """Count one view and return the link, or ``None`` if revoked, expired or used up."""
    def list_for_debate(self, debate_id: str) -> list[ShareLink]:
        """Links to one debate, oldest first."""
    def revoke(self, token: str) -> bool:
        """Revoke a link; ``False`` if there was none."""
    def delete_expired(self, *, dry_run: bool = False) -> int:
        """Delete links past their expiry; return how many (``dry_run``: only count)."""


@runtime_checkable
class WebhookStore(Protocol):
    """Webhook subscriptions."""

    def create(self, hook: Webhook) -> Webhook:
        """Insert a webhook; ``DuplicateError`` if the id exists."""
    def get(self, hook_id: str) -> Webhook | None:
        """Return the webhook or ``None``."""
    def list_for_org(self, org_id: str, event: str | None = None) -> list[Webhook]:
        """Active and inactive webhooks of an org; with ``event``, only active subscribers."""
    def update(self, hook_id: str, **fields: Any) -> Webhook:
        """Change the named fields."""
    def delete(self, hook_id: str) -> bool:
        """Delete the webhook; ``False`` if there was none."""
    def record_delivery(self, hook_id: str, success: bool) -> int:
        """Record a delivery attempt; return the consecutive failure count."""


@runtime_checkable
class TokenBlacklistStore(Protocol):
    """Revoked JWTs, kept until they would have expired anyway."""

    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist a token id until ``expires_at``; revoking twice is harmless."""
    def is_revoked(self, jti: str) -> bool:
        """True while the token is blacklisted and not yet expired."""
    def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs; return how many."""
    def cleanup_expired(self, *, dry_run: bool = False) -> int:
        """Drop entries whose tokens have expired; return how many (``dry_run``: only count)."""


@runtime_checkable
class NomicCycleStore(Protocol):
    """Nomic loop cycle state."""

    def save_cycle(self, cycle: NomicCycle) -> None:
        """Insert or replace the cycle identified by ``(loop_id, cycle_number)``."""
    def get_cycle(self, loop_id: str, cycle_number: int) -> NomicCycle | None:
        """Return one cycle or ``None``."""
    def list_cycles(self, loop_id: str) -> list[NomicCycle]:
        """Cycles of one loop in order."""
    def latest_cycle(self, loop_id: str) -> NomicCycle | None:
        """The highest-numbered cycle of a loop, or ``None``."""
    def record_rollback(self, loop_id: str, cycle_number: int, reason: str,
                        from_commit: str | None = None, to_commit: str | None = None) -> int:
        """Record a rollback (``nomic_rollbacks``); return its id."""
    def record_file_change(self, loop_id: str, cycle_number: int, file_path: str,
                           change_type: str, lines_added: int = 0,
                           lines_removed: int = 0) -> int:
        """Record one changed file (``cycle_file_changes``); return its id."""
    def list_file_changes(self, loop_id: str, cycle_number: int) -> list[dict[str, Any]]:
        """Changed files of one cycle."""


@runtime_checkable
class DebateArtifactStore(Protocol):
    """Debate transcripts and outcomes."""

    def save(self, artifact: DebateArtifact) -> int:
        """Insert an artifact; return its id."""
    def get(self, artifact_id: int) -> DebateArtifact | None:
        """Return one artifact or ``None``."""
    def list_for_cycle(self, loop_id: str, cycle_number: int) -> list[DebateArtifact]:
        """Artifacts of one cycle, oldest first."""


@runtime_checkable
class StreamEventStore(Protocol):
    """Real-time events of nomic loops."""

    def append(self, event: StreamEvent) -> str:
        """Append one event; return its id."""
    def append_many(self, events: Sequence[StreamEvent]) -> list[str]:
        """Append events in order; return their ids."""
    def read(self, loop_id: str, *, cycle: int | None = None, after: str | None = None,
             limit: int = 100) -> list[StreamEvent]:
        """Events of a loop in order, optionally of one cycle and after an id."""


@runtime_checkable
class AgentMetricsStore(Protocol):
    """Agent performance metrics."""

    def record(self, metric: AgentMetric) -> int:
        """Record one measurement; return its id."""
    def record_many(self, metrics: Iterable[AgentMetric]) -> int:
        """Record many measurements; return how many."""
    def for_agent(self, agent: str, metric: str | None = None,
                  limit: int = 100) -> list[AgentMetric]:
        """Measurements of one agent, newest first."""
    def summary(self, loop_id: str) -> dict[str, dict[str, float]]:
        """``{agent: {metric: mean}}`` over one loop."""


@runtime_checkable
class CacheStore(Protocol):
    """A key-value cache with expiry."""

    def get(self, key: str) -> bytes | None:
        """Return the cached value or ``None``."""
    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        """Store a value, expiring after ``ttl_seconds`` when given."""
    def delete(self, key: str) -> bool:
        """Remove a key; ``False`` if it was absent."""

