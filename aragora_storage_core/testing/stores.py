"""Conformance tests of every store protocol. Each class needs ``conformance_backend``;
each test runs on the sync and the async API (:mod:`.api`)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.errors import DuplicateError, NotFoundError
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
    to_iso,
)
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.testing.api import BothApis, StoreApi


def served(backend: Backend, kind: StoreKind, api: StoreApi | None = None) -> Any:
    """The store ``kind`` of ``backend``, reached through ``api`` (the sync API when
    ``None``); the test is skipped when the backend does not declare it
    (``stores_served``), so a backend runs the whole kit, not a hand list."""
    if not backend.serves(kind):
        pytest.skip(f"the {backend.name} backend does not serve the {kind.value} store")
    return backend.store(kind) if api is None else api.store(kind)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _days_ago(days: float) -> str:
    return to_iso(datetime.now(UTC) - timedelta(days=days)) or ""


def _in_zone(minutes_from_now: float, hours_east: int) -> str:
    """ISO text of an instant written in another time zone (``+02:00``, ``-05:00``)."""
    zone = timezone(timedelta(hours=hours_east))
    return (datetime.now(zone) + timedelta(minutes=minutes_from_now)).isoformat()


class TestUserStoreConformance(BothApis):
    """UserStore: accounts, lookups, atomic counters."""

    @pytest.fixture
    def users(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.USERS, conformance_api)

    def test_created_user_is_found_by_id_and_email(self, users: Any) -> None:
        user = users.create(User(_id("u"), "ada@example.com", "hash", "salt", name="Ada Ü",
                                 preferences={"theme": "dark", "n": [1, 2]}))
        assert users.get_by_id(user.id) == user
        assert users.get_by_email("ada@example.com") == user
        assert user.preferences == {"theme": "dark", "n": [1, 2]}
        assert user.is_active is True and user.email_verified is False

    def test_missing_user_is_none(self, users: Any) -> None:
        assert users.get_by_id("nobody") is None
        assert users.get_by_email("nobody@example.com") is None

    def test_duplicate_email_is_a_duplicate_error_and_keeps_the_first(self, users: Any) -> None:
        first = users.create(User(_id("u"), "same@example.com", "h", "s"))
        with pytest.raises(DuplicateError):
            users.create(User(_id("u"), "same@example.com", "h2", "s2"))
        assert users.get_by_email("same@example.com") == first
        assert users.count() == 1

    def test_update_changes_fields_and_updated_at(self, users: Any) -> None:
        user = users.create(User(_id("u"), "b@example.com", "h", "s",
                                 updated_at="2020-01-01T00:00:00+00:00"))
        updated = users.update(user.id, name="Bea", email_verified=True,
                               preferences={"lang": "fr"})
        assert (updated.name, updated.email_verified, updated.preferences) == \
            ("Bea", True, {"lang": "fr"})
        assert updated.updated_at and updated.updated_at > "2020-01-01T00:00:00+00:00"

    def test_update_of_unknown_user_is_not_found(self, users: Any) -> None:
        with pytest.raises(NotFoundError):
            users.update("nobody", name="x")

    def test_update_of_unknown_field_is_rejected(self, users: Any) -> None:
        user = users.create(User(_id("u"), "c@example.com", "h", "s"))
        with pytest.raises(ValueError):
            users.update(user.id, **{"name = 'x'; --": "y"})

    def test_failed_logins_count_up_and_login_resets(self, users: Any) -> None:
        user = users.create(User(_id("u"), "d@example.com", "h", "s"))
        assert [users.record_failed_login(user.id) for _ in range(3)] == [1, 2, 3]
        users.lock(user.id, "2999-01-01T00:00:00+00:00", "too many attempts")
        locked = users.get_by_id(user.id)
        assert locked.failed_login_count == 3 and locked.lockout_reason == "too many attempts"
        users.record_login(user.id)
        fresh = users.get_by_id(user.id)
        assert fresh.failed_login_count == 0 and fresh.locked_until is None
        assert fresh.last_login_at is not None

    def test_list_by_org_and_delete(self, users: Any) -> None:
        a = users.create(User(_id("u"), "e@example.com", "h", "s", org_id="org1",
                              created_at="2024-01-01T00:00:00+00:00"))
        b = users.create(User(_id("u"), "f@example.com", "h", "s", org_id="org1",
                              created_at="2024-01-02T00:00:00+00:00"))
        users.create(User(_id("u"), "g@example.com", "h", "s", org_id="org2"))
        assert [u.id for u in users.list_by_org("org1")] == [a.id, b.id]
        assert users.delete(a.id) is True
        assert users.delete(a.id) is False
        assert users.get_by_id(a.id) is None

    def test_create_many_inserts_every_user(self, users: Any) -> None:
        batch = [User(_id("u"), f"bulk{i}@example.com", "h", "s") for i in range(50)]
        assert users.create_many(batch) == 50
        assert users.count() == 50
        assert users.get_by_email("bulk49@example.com") is not None


class TestOrganizationStoreConformance(BothApis):
    """OrganizationStore: tenants by id, slug and Stripe customer."""

    @pytest.fixture
    def orgs(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.ORGANIZATIONS, conformance_api)

    def test_lookups_by_id_slug_and_stripe_customer(self, orgs: Any) -> None:
        org = orgs.create(Organization(_id("o"), "Acme", "acme", tier="pro",
                                       stripe_customer_id="cus_1", settings={"seats": 5}))
        assert orgs.get_by_id(org.id) == org
        assert orgs.get_by_slug("acme") == org
        assert orgs.get_by_stripe_customer("cus_1") == org
        assert orgs.get_by_slug("nope") is None

    def test_duplicate_slug_is_rejected(self, orgs: Any) -> None:
        orgs.create(Organization(_id("o"), "A", "dup"))
        with pytest.raises(DuplicateError):
            orgs.create(Organization(_id("o"), "B", "dup"))

    def test_update_delete_and_paging(self, orgs: Any) -> None:
        ids = [orgs.create(Organization(_id("o"), f"O{i}", f"o{i}",
                                        created_at=f"2024-01-0{i + 1}T00:00:00+00:00")).id
               for i in range(3)]
        assert orgs.update(ids[0], settings={"a": 1}, tier="team").settings == {"a": 1}
        assert [o.id for o in orgs.list_all(limit=2)] == ids[:2]
        assert [o.id for o in orgs.list_all(limit=2, offset=2)] == ids[2:]
        assert orgs.delete(ids[1]) is True
        assert orgs.get_by_id(ids[1]) is None


class TestAuditStoreConformance(BothApis):
    """AuditStore: append, filter, retention."""

    @pytest.fixture
    def audit(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.AUDIT, conformance_api)

    def test_entries_come_back_newest_first_with_filters(self, audit: Any) -> None:
        first = audit.log(AuditEntry("login", _days_ago(2), user_id="u1", org_id="o1",
                                     details={"ok": True}, ip_address="10.0.0.1"))
        second = audit.log(AuditEntry("logout", _days_ago(1), user_id="u1", org_id="o1"))
        audit.log(AuditEntry("login", _days_ago(1), user_id="u2", org_id="o2"))
        assert second > first
        mine = audit.query(user_id="u1")
        assert [e.action for e in mine] == ["logout", "login"]
        assert mine[1].details == {"ok": True} and mine[1].ip_address == "10.0.0.1"
        assert [e.user_id for e in audit.query(action="login")] == ["u2", "u1"]
        assert len(audit.query(org_id="o1", since=_days_ago(1.5))) == 1
        assert len(audit.query(limit=1)) == 1

    def test_timestamps_in_other_zones_filter_and_sort_as_instants(self, audit: Any) -> None:
        audit.log(AuditEntry("earlier", "2024-06-01T11:30:00+02:00"))  # 09:30 UTC
        audit.log(AuditEntry("later", "2024-06-01 10:00:00"))  # no zone: UTC
        assert [e.action for e in audit.query()] == ["later", "earlier"]
        assert [e.action for e in audit.query(since="2024-06-01T05:45:00-04:00")] == ["later"]
        assert [e.action for e in audit.query(until="2024-06-01T10:00:00Z")] == ["earlier"]

    def test_cleanup_removes_only_entries_past_retention(self, audit: Any) -> None:
        audit.log_many([AuditEntry("old", _days_ago(100)), AuditEntry("recent", _days_ago(10))])
        assert audit.cleanup_old_entries(retention_days=90) == 1
        assert [e.action for e in audit.query()] == ["recent"]
        assert audit.cleanup_old_entries(retention_days=5) == 1
        assert audit.query() == []


class TestUsageStoreConformance(BothApis):
    """UsageStore: metering, monthly aggregation, pruning."""

    @pytest.fixture
    def usage(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        orgs = served(conformance_backend, StoreKind.ORGANIZATIONS, conformance_api)
        orgs.create(Organization("org-u", "Usage", "usage"))
        return served(conformance_backend, StoreKind.USAGE, conformance_api)

    def test_totals_sum_counts_per_event_type(self, usage: Any) -> None:
        usage.record(UsageEvent("org-u", "debate", 2))
        usage.record_many([UsageEvent("org-u", "debate", 3), UsageEvent("org-u", "token", 7)])
        assert usage.totals("org-u") == {"debate": 5, "token": 7}

    def test_usage_of_an_unknown_organization_is_a_typed_error_and_stores_nothing(
            self, usage: Any) -> None:
        with pytest.raises(DuplicateError, match="missing record"):
            usage.record(UsageEvent("org-missing", "debate"))
        with pytest.raises(DuplicateError, match="missing record"):
            usage.record_many([UsageEvent("org-u", "debate"), UsageEvent("org-missing", "x")])
        assert usage.totals("org-u") == {} and usage.totals("org-missing") == {}

    def test_pruning_folds_old_events_into_months_without_changing_totals(self,
                                                                         usage: Any) -> None:
        usage.record_many([
            UsageEvent("org-u", "debate", 4, timestamp="2020-03-05T00:00:00+00:00"),
            UsageEvent("org-u", "debate", 1, timestamp="2020-03-20T00:00:00+00:00"),
            UsageEvent("org-u", "debate", 2, timestamp="2020-04-01T00:00:00+00:00"),
            UsageEvent("org-u", "debate", 9),
        ])
        before = usage.monthly_totals("org-u")
        assert usage.aggregate_and_prune(retention_days=90) == 3
        assert usage.monthly_totals("org-u") == before
        assert before[("2020-03", "debate")] == 5
        assert usage.aggregate_and_prune(retention_days=90) == 0
        assert usage.monthly_totals("org-u") == before
        assert usage.totals("org-u") == {"debate": 9}


    def test_months_are_utc_months_whatever_zone_an_event_was_written_in(self,
                                                                          usage: Any) -> None:
        usage.record(UsageEvent("org-u", "debate", 1, timestamp="2020-04-01T01:00:00+02:00"))
        usage.record(UsageEvent("org-u", "debate", 2, timestamp="2020-03-31T23:00:00-02:00"))
        assert usage.monthly_totals("org-u") == {("2020-03", "debate"): 1,
                                                 ("2020-04", "debate"): 2}
        assert usage.totals("org-u", since="2020-04-01T02:00:00+02:00") == {"debate": 2}


class TestShareLinkStoreConformance(BothApis):
    """ShareLinkStore: views, limits, expiry, revocation."""

    @pytest.fixture
    def links(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.SHARE_LINKS, conformance_api)

    def test_open_counts_views_up_to_the_limit(self, links: Any) -> None:
        links.create(ShareLink("tok1", "debate-1", max_views=2))
        assert links.open("tok1").view_count == 1
        assert links.open("tok1").view_count == 2
        assert links.open("tok1") is None
        assert links.get("tok1").view_count == 2

    def test_revoked_and_expired_links_do_not_open(self, links: Any) -> None:
        links.create(ShareLink("tok2", "debate-1"))
        links.create(ShareLink("tok3", "debate-1", expires_at=_days_ago(1)))
        assert links.revoke("tok2") is True and links.revoke("missing") is False
        assert links.open("tok2") is None and links.open("tok3") is None
        assert {link.token for link in links.list_for_debate("debate-1")} == {"tok2", "tok3"}
        assert links.delete_expired() == 1
        assert links.get("tok3") is None and links.get("tok2").revoked is True

    def test_expiry_written_in_any_time_zone_is_compared_as_an_instant(self,
                                                                        links: Any) -> None:
        links.create(ShareLink("tok-east", "d", expires_at=_in_zone(-30, +2)))
        links.create(ShareLink("tok-west", "d", expires_at=_in_zone(+30, -5)))
        naive = (datetime.now(UTC) + timedelta(minutes=30)).replace(tzinfo=None)
        links.create(ShareLink("tok-naive", "d", expires_at=naive.isoformat(sep=" ")))
        links.create(ShareLink("tok-z", "d", expires_at=_days_ago(-1).replace("+00:00", "Z")))
        assert links.open("tok-east") is None
        assert links.open("tok-west") is not None
        assert links.open("tok-naive") is not None and links.open("tok-z") is not None
        assert links.delete_expired() == 1 and links.get("tok-east") is None

    def test_duplicate_token_is_rejected(self, links: Any) -> None:
        links.create(ShareLink("tok4", "d"))
        with pytest.raises(DuplicateError):
            links.create(ShareLink("tok4", "d"))


class TestWebhookStoreConformance(BothApis):
    """WebhookStore: subscriptions, secrets, delivery failures."""

    @pytest.fixture
    def hooks(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.WEBHOOKS, conformance_api)

    def test_secret_and_events_round_trip(self, hooks: Any) -> None:
        hook = hooks.create(Webhook("wh1", "org1", "https://example.com/h", secret="s3cr3t'\"",
                                    events=["debate.done", "user.new"]))
        assert hooks.get("wh1") == hook
        assert hook.secret == "s3cr3t'\"" and hook.events == ["debate.done", "user.new"]

    def test_event_filter_returns_active_subscribers_only(self, hooks: Any) -> None:
        hooks.create(Webhook("wh2", "org1", "https://a", events=["x"]))
        hooks.create(Webhook("wh3", "org1", "https://b", events=["*"]))
        hooks.create(Webhook("wh4", "org1", "https://c", events=["x"], active=False))
        hooks.create(Webhook("wh5", "org2", "https://d", events=["x"]))
        assert {h.id for h in hooks.list_for_org("org1", event="x")} == {"wh2", "wh3"}
        assert len(hooks.list_for_org("org1")) == 3

    def test_delivery_failures_count_until_a_success(self, hooks: Any) -> None:
        hooks.create(Webhook("wh6", "org1", "https://a"))
        assert [hooks.record_delivery("wh6", False) for _ in range(2)] == [1, 2]
        assert hooks.record_delivery("wh6", True) == 0
        with pytest.raises(NotFoundError):
            hooks.record_delivery("missing", True)

    def test_update_and_delete(self, hooks: Any) -> None:
        hooks.create(Webhook("wh7", "org1", "https://a", secret="one"))
        assert hooks.update("wh7", secret="two", active=False).secret == "two"
        assert hooks.get("wh7").active is False
        assert hooks.delete("wh7") is True and hooks.get("wh7") is None


class TestTokenBlacklistConformance(BothApis):
    """TokenBlacklistStore: revocation until expiry."""

    @pytest.fixture
    def blacklist(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.TOKEN_BLACKLIST, conformance_api)

    def test_revoked_token_is_revoked_until_it_expires(self, blacklist: Any) -> None:
        future = datetime.now(UTC) + timedelta(hours=1)
        jti = _id("jti")
        assert blacklist.is_revoked(jti) is False
        blacklist.revoke(jti, future, user_id="u1")
        blacklist.revoke(jti, future)
        assert blacklist.is_revoked(jti) is True

    def test_expired_entries_are_not_revoked_and_are_cleaned_up(self, blacklist: Any) -> None:
        soon = datetime.now(UTC) + timedelta(seconds=1)
        later = datetime.now(UTC) + timedelta(hours=1)
        assert blacklist.revoke_many([("short", soon), ("long", later)]) == 2
        time.sleep(1.2)
        assert blacklist.is_revoked("short") is False
        assert blacklist.is_revoked("long") is True
        assert blacklist.cleanup_expired() in (0, 1)
        assert blacklist.is_revoked("long") is True


class TestNomicCycleStoreConformance(BothApis):
    """NomicCycleStore: cycles, rollbacks, file changes."""

    @pytest.fixture
    def cycles(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.NOMIC_CYCLES, conformance_api)

    def test_cycle_round_trips_and_upserts(self, cycles: Any) -> None:
        start = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
        cycle = NomicCycle("loop1", 1, "debate", "proposing", start, total_tasks=3)
        cycles.save_cycle(cycle)
        assert cycles.get_cycle("loop1", 1) == cycle
        cycle.phase, cycle.success, cycle.completed_at = "verify", True, start + timedelta(1)
        cycles.save_cycle(cycle)
        assert cycles.get_cycle("loop1", 1) == cycle
        cycles.save_cycle(NomicCycle("loop1", 2, "design", "voting", start))
        assert [c.cycle_number for c in cycles.list_cycles("loop1")] == [1, 2]
        assert cycles.latest_cycle("loop1").cycle_number == 2
        assert cycles.latest_cycle("other") is None

    def test_rollbacks_and_file_changes_are_recorded(self, cycles: Any) -> None:
        assert cycles.record_rollback("loop1", 1, "tests failed", "abc", "def") > 0
        cycles.record_file_change("loop1", 1, "a.py", "modified", 3, 1)
        cycles.record_file_change("loop1", 1, "b.py", "added", 10)
        changes = cycles.list_file_changes("loop1", 1)
        assert [(c["file_path"], c["lines_added"]) for c in changes] == [("a.py", 3), ("b.py", 10)]


class TestDebateArtifactStoreConformance(BothApis):
    """DebateArtifactStore: transcripts and outcomes."""

    @pytest.fixture
    def artifacts(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.DEBATE_ARTIFACTS, conformance_api)

    def test_artifact_round_trips(self, artifacts: Any) -> None:
        artifact = DebateArtifact("loop1", 1, "debate", "task", ["a", "b"],
                                  [{"agent": "a", "text": "hi ✓"}], True, 0.75,
                                  winning_proposal="p1", vote_tally={"a": 2})
        artifact_id = artifacts.save(artifact)
        got = artifacts.get(artifact_id)
        assert got.transcript == artifact.transcript and got.vote_tally == {"a": 2}
        assert (got.consensus_reached, got.confidence, got.id) == (True, 0.75, artifact_id)
        second = artifacts.save(DebateArtifact("loop1", 1, "design", "t2", [], [], False, 0.1))
        assert [a.id for a in artifacts.list_for_cycle("loop1", 1)] == [artifact_id, second]
        assert artifacts.get(-1) is None


class TestStreamEventStoreConformance(BothApis):
    """StreamEventStore: ordered events per loop, cycle filter, cursor."""

    @pytest.fixture
    def events(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.STREAM_EVENTS, conformance_api)

    def test_events_read_back_in_order_with_cursor_and_filter(self, events: Any) -> None:
        loop = _id("loop")
        ids = events.append_many([
            StreamEvent(loop, 1, "cycle_start", {"n": 1}),
            StreamEvent(loop, 1, "phase_start", {"n": 2}, agent="claude"),
            StreamEvent(loop, 2, "cycle_start", {"n": 3}),
        ])
        last = events.append(StreamEvent(loop, 2, "error", {"n": 4}))
        events.append(StreamEvent(_id("other"), 1, "cycle_start", {}))
        read = events.read(loop)
        assert [e.event_data["n"] for e in read] == [1, 2, 3, 4]
        assert [e.id for e in read] == [*ids, last]
        assert read[1].agent == "claude"
        assert [e.event_data["n"] for e in events.read(loop, cycle=2)] == [3, 4]
        assert [e.event_data["n"] for e in events.read(loop, after=ids[1])] == [3, 4]
        assert len(events.read(loop, limit=2)) == 2


class TestAgentMetricsStoreConformance(BothApis):
    """AgentMetricsStore: measurements and summaries."""

    @pytest.fixture
    def metrics(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.AGENT_METRICS, conformance_api)

    def test_metrics_by_agent_and_summary(self, metrics: Any) -> None:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        metrics.record(AgentMetric("loop1", 1, "a", "latency", 2.0, recorded_at=base))
        assert metrics.record_many([
            AgentMetric("loop1", 2, "a", "latency", 4.0, recorded_at=base + timedelta(1)),
            AgentMetric("loop1", 2, "b", "score", 0.5, {"k": "v"}, recorded_at=base),
        ]) == 2
        assert [m.value for m in metrics.for_agent("a")] == [4.0, 2.0]
        assert metrics.for_agent("b", metric="score")[0].metadata == {"k": "v"}
        assert metrics.summary("loop1") == {"a": {"latency": 3.0}, "b": {"score": 0.5}}


class TestCacheStoreConformance(BothApis):
    """CacheStore: values with expiry."""

    @pytest.fixture
    def cache(self, conformance_api: StoreApi, conformance_backend: Backend) -> Any:
        return served(conformance_backend, StoreKind.CACHE, conformance_api)

    def test_set_get_delete_and_expiry(self, cache: Any) -> None:
        cache.set("k1", b"\x00value")
        cache.set("k2", b"short", ttl_seconds=0.3)
        assert cache.get("k1") == b"\x00value" and cache.get("k2") == b"short"
        time.sleep(0.6)
        assert cache.get("k2") is None
        assert cache.delete("k1") is True and cache.delete("k1") is False
        assert cache.get("missing") is None
