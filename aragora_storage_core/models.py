"""Dataclass records handed to and returned by the stores.

Account-side timestamps are ISO-8601 UTC text (the seed's ``TEXT`` columns); the nomic
records use :class:`datetime` as in the seed's data models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aragora_storage_core.records import dataclass, field


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def utcnow_iso() -> str:
    """The current time as the ISO-8601 text every store writes."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_iso(value: datetime | str | None) -> str | None:
    """Normalise a timestamp to the stored text form: ISO-8601 UTC with microseconds.

    Text is parsed first, so ``...+02:00``, ``...Z`` and ``2024-01-01 10:00:00`` all
    compare as the instants they name; naive values (datetime or text) are taken as UTC.
    Empty text is ``None``. Raises ``ValueError`` for text that is not ISO-8601.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) == 32 and value[10] == "T" and value.endswith("+00:00"):
            return value  # already the stored form
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {text[:40]!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(value: str | None) -> datetime | None:
    """Parse stored timestamp text back into an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class User:
    """A user account (``users`` table)."""

    id: str
    email: str
    password_hash: str
    password_salt: str
    name: str = ""
    org_id: str | None = None
    role: str = "member"
    created_at: str | None = None
    updated_at: str | None = None
    last_login_at: str | None = None
    is_active: bool = True
    email_verified: bool = False
    avatar_url: str | None = None
    preferences: dict[str, Any] = field(default_factory=dict)
    locked_until: str | None = None
    failed_login_count: int = 0
    lockout_reason: str | None = None
    last_activity_at: str | None = None
    last_debate_at: str | None = None


@dataclass
class Organization:
    """A tenant (``organizations`` table)."""

    id: str
    name: str
    slug: str
    tier: str = "free"
    owner_id: str | None = None
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditEntry:
    """One security audit record (``audit_log`` table)."""

    action: str
    timestamp: str | None = None
    user_id: str | None = None
    org_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ip_address: str | None = None
    user_agent: str | None = None
    id: int | None = None


@dataclass
class UsageEvent:
    """One metered event (``usage_events`` table)."""

    org_id: str
    event_type: str
    count: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: str | None = None
    id: int | None = None


@dataclass
class ShareLink:
    """A public link to a debate (``share_links`` table)."""

    token: str
    debate_id: str
    org_id: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    expires_at: str | None = None
    max_views: int | None = None
    view_count: int = 0
    revoked: bool = False


@dataclass
class Webhook:
    """A webhook subscription (``webhooks`` table). ``secret`` is a sensitive column."""

    id: str
    org_id: str
    url: str
    secret: str | None = None
    events: list[str] = field(default_factory=list)
    active: bool = True
    created_at: str | None = None
    updated_at: str | None = None
    last_triggered_at: str | None = None
    failure_count: int = 0


@dataclass
class NomicCycle:
    """State of one nomic loop cycle (``nomic_cycles`` table)."""

    loop_id: str
    cycle_number: int
    phase: str
    stage: str
    started_at: datetime
    completed_at: datetime | None = None
    success: bool | None = None
    git_commit: str | None = None
    task_description: str | None = None
    total_tasks: int = 0
    completed_tasks: int = 0
    error_message: str | None = None


@dataclass
class DebateArtifact:
    """A debate transcript and outcome (``debate_artifacts`` table)."""

    loop_id: str
    cycle_number: int
    phase: str
    task: str
    agents: list[str]
    transcript: list[dict[str, Any]]
    consensus_reached: bool
    confidence: float
    winning_proposal: str | None = None
    vote_tally: dict[str, Any] | None = None
    id: int | None = None
    created_at: datetime | None = None


@dataclass
class StreamEvent:
    """A real-time event (``stream_events`` table or a Redis stream).

    ``id`` is assigned by the store; it is text so that SQL row ids and Redis stream ids
    read the same way, and it orders events within one loop.
    """

    loop_id: str
    cycle: int
    event_type: str
    event_data: dict[str, Any]
    agent: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    id: str | None = None


@dataclass
class AgentMetric:
    """A performance measurement of one agent (``agent_metrics`` table)."""

    loop_id: str
    cycle: int
    agent: str
    metric: str
    value: float
    metadata: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime = field(default_factory=utcnow)
    id: int | None = None
